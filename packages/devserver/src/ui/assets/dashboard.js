// The dashboard's live parts: task overlays take their image's natural size, and a job page
// follows its job (sections, console lines, log records) until the job is final.

const POLL_MS = 1000;

function fitOverlay(figure) {
  const img = figure.querySelector('img');
  const svg = figure.querySelector('svg');
  const fit = () => {
    if (!img.naturalWidth) return;
    svg.setAttribute('viewBox', `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
    svg.setAttribute('font-size', String(Math.max(4, Math.round(img.naturalWidth / 45))));
  };
  if (img.complete) fit();
  else img.addEventListener('load', fit);
}

function followJob(root) {
  const consoleEl = root.querySelector('[data-console]');
  const logsEl = root.querySelector('[data-logs]');
  let lines = Number(root.dataset.consoleCount);
  let lastLog = Number(root.dataset.lastLog);

  const apply = (state) => {
    for (const [name, markup] of Object.entries(state.parts)) {
      const part = root.querySelector(`[data-part="${name}"]`);
      // Keep the section title, replace what is under it (server-rendered and escaped).
      if (part) part.innerHTML = `${part.querySelector('h2').outerHTML}${markup}`;
    }
    const { start, total, lines: added } = state.console;
    // The console log got shorter (rewritten): start over from what the server sent.
    if (start < lines) consoleEl.textContent = '';
    const atBottom = consoleEl.scrollTop + consoleEl.clientHeight >= consoleEl.scrollHeight - 4;
    if (added.length > 0) {
      consoleEl.append(`${consoleEl.textContent ? '\n' : ''}${added.join('\n')}`);
      if (atBottom) consoleEl.scrollTop = consoleEl.scrollHeight;
    }
    lines = total;
    if (state.logs.rows.length > 0) logsEl.insertAdjacentHTML('beforeend', state.logs.rows.join(''));
    lastLog = state.logs.last;
  };

  const tick = async () => {
    try {
      const res = await fetch(`${root.dataset.liveJob}?console=${lines}&log=${lastLog}`, {
        cache: 'no-store',
      });
      // Gone, or the session ended (a reload shows the login): nothing more to follow.
      if (res.status === 404 || res.status === 401) return;
      if (res.ok) {
        const state = await res.json();
        apply(state);
        if (state.final) {
          root.dataset.state = 'final';
          return;
        }
      }
    } catch {
      // The devserver may be restarting: try again on the next tick.
    }
    setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}

for (const figure of document.querySelectorAll('[data-overlay]')) fitOverlay(figure);
const job = document.querySelector('[data-live-job][data-state="live"]');
if (job) followJob(job);
