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
<style>
html,body{margin:0;height:100%;font:14px system-ui,sans-serif}
body{display:flex;flex-direction:column}
#note{padding:8px 14px;background:#1d2329;color:#fff}
#note a{color:#a8cbff}
#offline{display:none;padding:12px 14px;background:#fde2e2;color:#7f1d1d}
#offline.shown{display:block}
iframe{border:0;width:100%;flex:1}
</style>
</head>
<body>
<div id="note">This view frames the hosted Stately inspector (stately.ai) and needs the internet. The troupe inspector works offline: <a href="/">back to the troupe inspector</a>.</div>
<div id="offline" role="alert">stately.ai has not answered: this machine seems to be offline, or stately.ai is blocked. The frame below stays empty or shows a browser error. Use <a href="/">the troupe inspector</a>, which needs no internet; the <code>/stately</code> WebSocket still serves Stately's own tools.</div>
<iframe id="inspector" title="Stately inspector" src="https://stately.ai/inspect"></iframe>
<script>
(() => {
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  const offline = setTimeout(() => document.getElementById('offline').classList.add('shown'), navigator.onLine ? 8000 : 0);
  window.addEventListener('message', (e) => {
    if (e.origin !== 'https://stately.ai' || !e.data || e.data.type !== '@statelyai.connected') return;
    connected = true;
    clearTimeout(offline);
    document.getElementById('offline').classList.remove('shown');
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
