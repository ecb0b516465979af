/**
 * `/stately`: the same bridge `@statelyai/inspect/server` serves, pointed at
 * our `/stately` WebSocket. It frames the hosted Stately inspector, so it
 * needs the internet; our own page at `/` does not. The frame shows only
 * once stately.ai answers; until then the page says it is connecting, and
 * that it is offline as soon as that is known. Nothing in this HTML comes
 * from the runtime, so it is static.
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
#status{padding:12px 14px;background:#f1f3f5;color:#1d2329}
#status.offline{background:#fde2e2;color:#7f1d1d}
#status[hidden],iframe[hidden]{display:none}
iframe{border:0;width:100%;flex:1}
</style>
</head>
<body>
<div id="note">This view frames the hosted Stately inspector (stately.ai) and needs the internet. The troupe inspector works offline: <a href="/">back to the troupe inspector</a>.</div>
<div id="status" role="status">Connecting to stately.ai…</div>
<iframe id="inspector" title="Stately inspector" hidden></iframe>
<script>
(() => {
  // The frame stays hidden until stately.ai says it is connected, so a load
  // that fails never shows the browser's error page. Whether stately.ai can
  // be reached is asked at once (a no-cors request fails as soon as the
  // network does), so the offline message comes as soon as that is known.
  const STATELY = 'https://stately.ai/inspect';
  const iframe = document.getElementById('inspector');
  const status = document.getElementById('status');
  const buffer = [];
  let connected = false;
  let slow;
  const offline = (why) => {
    if (connected) return;
    status.classList.add('offline');
    status.setAttribute('role', 'alert');
    status.replaceChildren(
      why + ': this machine seems to be offline, or stately.ai is blocked. Use ',
      Object.assign(document.createElement('a'), { href: '/', textContent: 'the troupe inspector' }),
      ", which needs no internet; the /stately WebSocket still serves Stately's own tools.",
    );
  };
  const load = () => {
    if (connected) return;
    clearTimeout(slow);
    if (!navigator.onLine) return offline('This browser is offline');
    status.classList.remove('offline');
    status.setAttribute('role', 'status');
    status.textContent = 'Connecting to stately.ai…';
    iframe.src = STATELY;
    slow = setTimeout(() => offline('stately.ai has not answered in 8 seconds'), 8000);
    fetch(STATELY, { mode: 'no-cors', cache: 'no-store' }).catch(() => offline('stately.ai cannot be reached'));
  };
  window.addEventListener('offline', () => offline('This browser is offline'));
  window.addEventListener('online', load);
  window.addEventListener('message', (e) => {
    if (e.origin !== 'https://stately.ai' || !e.data || e.data.type !== '@statelyai.connected') return;
    connected = true;
    clearTimeout(slow);
    status.hidden = true;
    iframe.hidden = false;
    for (const data of buffer.splice(0)) iframe.contentWindow.postMessage(data, 'https://stately.ai');
  });
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(scheme + '//' + location.host + '/stately' + location.search);
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (connected) iframe.contentWindow.postMessage(data, 'https://stately.ai');
    else if (buffer.push(data) > 5000) buffer.shift();
  };
  load();
})();
</script>
</body>
</html>
`;
}
