/**
 * HTML building with escaping by default: every value interpolated into `html` is escaped unless
 * it is itself `Html` (built by `html`), so user data (titles, labels, log lines) cannot inject markup.
 */

/** Markup that is already safe to send. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for element content and quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Nothing for null, undefined and false (so `cond && html\`...\`` works); lists are concatenated. */
function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** A path under the dashboard, each segment URL-encoded. */
export function uiPath(...segments: Array<string | number>): string {
  return `/ui/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

export type Section = 'overview' | 'projects' | 'jobs' | 'models' | 'plugins' | 'serve-applications';

const NAV: Array<[Section, string, string]> = [
  ['overview', 'Overview', '/ui/'],
  ['projects', 'Projects', '/ui/projects'],
  ['jobs', 'Jobs', '/ui/jobs'],
  ['models', 'Models', '/ui/models'],
  ['plugins', 'Plugins', '/ui/plugins'],
  ['serve-applications', 'Serve applications', '/ui/serve-applications'],
];

/** A whole page: head, nav bar (with the current section marked) and content. */
export function layout(title: string, section: Section | null, content: Html): Html {
  const links = NAV.map(
    ([key, label, href]) =>
      html`<a href="${href}"${key === section ? html` class="active" aria-current="page"` : ''}>${label}</a>`,
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Synapse dev</title>
<link rel="icon" href="/ui/assets/favicon.svg">
<link rel="stylesheet" href="/ui/assets/dashboard.css">
<script src="/ui/assets/dashboard.js" defer></script>
</head>
<body>
<header class="topbar">
<a class="brand" href="/ui/">Synapse <span>dev</span></a>
<nav>${links}</nav>
<form class="logout" method="post" action="/ui/logout"><button type="submit">Log out</button></form>
</header>
<main>
${content}
</main>
</body>
</html>
`;
}
