/**
 * `/stately`: the same bridge `@statelyai/inspect/server` serves, pointed at
 * our `/stately` WebSocket. It frames the hosted Stately inspector, so it
 * needs the internet; our own page at `/` does not. Nothing in this HTML
 * comes from the runtime, so it is static.
 */
export function statelyBridgeHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>troupe — Stately inspector</title>
<style>html,body{margin:0;height:100%}iframe{border:0;width:100%;height:100%}</style>
</head>
<body>
<iframe id="inspector" title="Stately inspector" src="https://stately.ai/inspect"></iframe>
<script>
(() => {
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.origin !== 'https://stately.ai' || !e.data || e.data.type !== '@statelyai.connected') return;
    connected = true;
    for (const data of buffer.splice(0)) iframe.contentWindow.postMessage(data, 'https://stately.ai');
  });
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(scheme + '//' + location.host + '/stately' + location.search);
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (connected) iframe.contentWindow.postMessage(data, 'https://stately.ai');
    else if (buffer.push(data) > 5000) buffer.shift();
  };
})();
</script>
</body>
</html>
`;
}
