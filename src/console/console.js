// The operator console: one page over the HTTP API (no build step). Every value shown comes from the
// API and goes into the page as text nodes, never as HTML.

const STATUSES = ['WAITING_CONFIRM', 'SENDING', 'FINISHED', 'CANCELLED', 'DEAD'];
const main = document.getElementById('main');
const session = { token: sessionStorage.getItem('rmsg-token') ?? '', access: undefined, workflowsUrl: '' };
let refreshTimer;

/** Builds an element: h('td', { class: 'num' }, 'text', child, ...). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Number.POSITIVE_INFINITY)) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: {
      ...(session.token ? { authorization: `Bearer ${session.token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${json.code ?? res.status}: ${json.message ?? res.statusText}`);
  return json;
}

const canAct = () => session.access === 'write';
const when = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 23) : '-');
const status = (s, extra) => h('span', { class: `status ${s}` }, s, extra ? ` (${extra})` : '');
const messageLink = (key) => h('a', { href: `#/messages/${encodeURIComponent(key)}`, 'data-testid': 'key' }, key);

function table(headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', { class: x.endsWith('#') ? 'num' : undefined }, x.replace(/#$/, ''))),
      ),
    ),
    h('tbody', {}, rows),
  );
}

/**
 * The confirmation step every action goes through: shows what will happen, runs `act` on Confirm and
 * keeps the dialog open with the error if it fails.
 */
function confirmStep(title, body, okLabel, act) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-body').replaceChildren(...[body].flat());
  const err = document.getElementById('confirm-error');
  err.textContent = '';
  const ok = document.getElementById('confirm-ok');
  ok.textContent = okLabel;
  ok.onclick = async (event) => {
    event.preventDefault();
    ok.disabled = true;
    try {
      await act();
      dialog.close();
    } catch (e) {
      err.textContent = e.message;
    } finally {
      ok.disabled = false;
    }
  };
  dialog.showModal();
}

// ---- overview

function chart(lastHour) {
  const W = 1200;
  const H = 220;
  const pad = 28;
  const bw = (W - pad * 2) / lastHour.length;
  const maxN = Math.max(1, ...lastHour.map((m) => Math.max(m.confirmed, m.consumed)));
  const maxL = Math.max(1, ...lastHour.map((m) => m.avgLatencyMs ?? 0));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('data-testid', 'chart');
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  const y = (n) => H - pad - (n / maxN) * (H - pad * 2);
  const points = [];
  lastHour.forEach((m, i) => {
    const x = pad + i * bw;
    add('rect', { class: 'bar', x, y: y(m.confirmed), width: bw * 0.45, height: H - pad - y(m.confirmed) });
    add('rect', {
      class: 'bar2',
      x: x + bw * 0.45,
      y: y(m.consumed),
      width: bw * 0.45,
      height: H - pad - y(m.consumed),
    });
    if (m.avgLatencyMs !== null) points.push(`${x + bw / 2},${H - pad - (m.avgLatencyMs / maxL) * (H - pad * 2)}`);
  });
  if (points.length > 1) add('polyline', { class: 'lat', points: points.join(' ') });
  add('text', { x: pad, y: 12 }, `per minute, last hour: confirmed (light), consumed (dark), max ${maxN}`);
  add('text', { x: W - pad, y: 12, 'text-anchor': 'end' }, `red: avg confirm→consumed, max ${maxL} ms`);
  add('text', { x: pad, y: H - 8 }, when(lastHour[0]?.minute).slice(11, 16));
  add('text', { x: W - pad, y: H - 8, 'text-anchor': 'end' }, when(lastHour.at(-1)?.minute).slice(11, 16));
  return svg;
}

function nested(label, data) {
  const cols = [...new Set(Object.values(data).flatMap((r) => Object.keys(r)))].sort();
  return table(
    [label, ...cols.map((c) => `${c}#`)],
    Object.entries(data).map(([name, counts]) =>
      h(
        'tr',
        {},
        h('td', {}, name),
        cols.map((c) => h('td', { class: 'num' }, counts[c] ?? 0)),
      ),
    ),
  );
}

async function overview() {
  const [stats, ov, audits] = await Promise.all([
    api('GET', '/v1/stats'),
    api('GET', '/v1/overview'),
    api('GET', '/v1/audits?limit=1'),
  ]);
  const oldest = (label, m) =>
    h(
      'p',
      {},
      `${label}: `,
      m ? [messageLink(m.key), ` since ${when(m.createdAt)} (${m.topic})`] : h('span', { class: 'muted' }, 'none'),
    );
  const audit = audits[0];
  return [
    h('h2', {}, 'Overview'),
    h(
      'div',
      { class: 'cards', 'data-testid': 'status-cards' },
      STATUSES.map((s) =>
        h(
          'a',
          { href: `#/messages?status=${s}`, class: `card ${s}`, 'data-status': s },
          h('div', { class: 'n' }, stats.messages.byStatus[s] ?? 0),
          h('div', { class: 'muted' }, s),
        ),
      ),
      h('div', { class: 'card' }, h('div', { class: 'n' }, stats.archived), h('div', { class: 'muted' }, 'archived')),
    ),
    h('h3', {}, 'Last hour'),
    chart(ov.lastHour),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        {},
        h('h3', {}, 'Needs attention'),
        oldest('Oldest WAITING_CONFIRM', ov.oldestWaitingConfirm),
        oldest('Oldest SENDING', ov.oldestSending),
        h(
          'p',
          {},
          'DEAD by reason: ',
          Object.entries(ov.deadByReason)
            .map(([r, n]) => `${r} ${n}`)
            .join(', ') || 'none',
          ' ',
          h('a', { href: '#/dead' }, 'triage →'),
        ),
        h(
          'p',
          {},
          'Last audit: ',
          audit
            ? `${when(audit.finishedAt)}, ${audit.checked} checked; ${Object.entries(audit.findings)
                .map(([k, f]) => `${k} ${f.count}`)
                .join(', ')}`
            : h('span', { class: 'muted' }, 'never'),
        ),
      ),
      h('div', {}, h('h3', {}, 'By topic'), nested('topic', stats.messages.byTopic)),
      h('div', {}, h('h3', {}, 'By consumer group (deliveries)'), nested('group', stats.deliveries.byConsumerGroup)),
    ),
  ];
}

// ---- messages

const FILTERS = ['status', 'topic', 'producerGroup', 'consumerGroup', 'from', 'to', 'limit'];

async function messages(params) {
  const query = new URLSearchParams([...params].filter(([k, v]) => v && [...FILTERS, 'cursor'].includes(k)));
  const page = await api('GET', `/v1/messages?${query}`);
  const field = (name, input) => h('label', {}, name, input);
  const form = h(
    'form',
    {
      class: 'filters',
      'data-testid': 'filters',
      onsubmit: (e) => {
        e.preventDefault();
        const q = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v));
        location.hash = `#/messages?${q}`;
      },
    },
    field(
      'status',
      h(
        'select',
        { name: 'status' },
        h('option', { value: '' }, 'any'),
        STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s)),
      ),
    ),
    ['topic', 'producerGroup', 'consumerGroup'].map((f) =>
      field(f, h('input', { name: f, value: params.get(f) ?? '', size: 14 })),
    ),
    field('from (ISO)', h('input', { name: 'from', value: params.get('from') ?? '', size: 22 })),
    field('to (ISO)', h('input', { name: 'to', value: params.get('to') ?? '', size: 22 })),
    field('limit', h('input', { name: 'limit', value: params.get('limit') ?? '50', size: 4 })),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'),
  );
  const rows = page.items.map((m) =>
    h(
      'tr',
      { 'data-testid': 'message-row' },
      h('td', {}, messageLink(m.key)),
      h('td', {}, status(m.status, m.deadReason)),
      h('td', {}, m.topic),
      h('td', {}, m.producerGroup),
      h('td', { class: 'num' }, m.sendCount),
      h('td', {}, `${m.deliveries.filter((d) => d.status === 'CONSUMED').length}/${m.deliveries.length}`),
      h('td', {}, when(m.createdAt)),
    ),
  );
  const next = new URLSearchParams(query);
  if (page.nextCursor) next.set('cursor', page.nextCursor);
  return [
    h('h2', {}, 'Messages'),
    form,
    table(['key', 'status', 'topic', 'producer', 'sends#', 'consumed', 'created'], rows, { 'data-testid': 'messages' }),
    h(
      'p',
      {},
      `${page.items.length} shown. `,
      page.nextCursor
        ? h('a', { href: `#/messages?${next}`, 'data-testid': 'next-page' }, 'Next page →')
        : 'Last page.',
    ),
  ];
}

async function detail(key) {
  const m = await api('GET', `/v1/messages/${encodeURIComponent(key)}`);
  const action = (name, label, allowed, body) =>
    h(
      'button',
      {
        'data-action': name,
        disabled: !canAct() || !allowed,
        title: canAct() ? undefined : 'needs the write token',
        onclick: () =>
          confirmStep(
            `${label} ${m.key}?`,
            h(
              'p',
              {},
              `The message is ${m.status}${m.deadReason ? ` (${m.deadReason})` : ''}. This is recorded as an operator action.`,
            ),
            label,
            async () => {
              await api('POST', `/v1/messages/${encodeURIComponent(m.key)}/${name}`, body);
              await render();
            },
          ),
      },
      label,
    );
  const unconfirmed = m.status === 'WAITING_CONFIRM' || (m.status === 'DEAD' && m.deadReason === 'UNCONFIRMED');
  const resendable = m.status === 'SENDING' || (m.status === 'DEAD' && m.deadReason === 'UNCONSUMED');
  return [
    h('h2', {}, 'Message ', h('code', {}, m.key), ' ', status(m.status, m.deadReason)),
    h(
      'dl',
      { class: 'fields', 'data-testid': 'detail' },
      [
        ['status', m.status],
        ['topic / tag', `${m.topic} / ${m.tag ?? '-'}`],
        ['producer group', m.producerGroup],
        ['sends / check-backs', `${m.sendCount} / ${m.checkBackCount}`],
        ['created', when(m.createdAt)],
        ['confirmed', when(m.confirmedAt)],
        ['finished', when(m.finishedAt)],
        ['dead', when(m.deadAt)],
        ['last error', m.lastError ?? '-'],
        ['archived', when(m.archivedAt)],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v)]),
      h('dt', {}, 'Temporal UI'),
      h(
        'dd',
        {},
        h(
          'a',
          { href: `${session.workflowsUrl}/${encodeURIComponent(m.workflowId)}`, target: '_blank', rel: 'noopener' },
          m.workflowId,
        ),
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      action('confirm', 'Confirm', unconfirmed, { by: 'operator' }),
      action('cancel', 'Cancel', unconfirmed, { by: 'operator', reason: 'cancelled by an operator in the console' }),
      action('resend', 'Resend', resendable),
    ),
    h('h3', {}, 'Deliveries'),
    table(
      ['group', 'status', 'sent#', 'received#', 'last sent', 'consumed', 'last error'],
      m.deliveries.map((d) =>
        h(
          'tr',
          {},
          h('td', {}, d.consumerGroup),
          h('td', {}, status(d.status)),
          h('td', { class: 'num' }, d.sendCount),
          h('td', { class: 'num' }, d.receiveCount),
          h('td', {}, when(d.lastSentAt)),
          h('td', {}, when(d.consumedAt)),
          h('td', {}, d.lastError ?? ''),
        ),
      ),
    ),
    h('h3', {}, 'Events'),
    table(
      ['seq#', 'at', 'type', 'group', 'detail'],
      m.events.map((e) =>
        h(
          'tr',
          { 'data-testid': 'event' },
          h('td', { class: 'num' }, e.seq),
          h('td', {}, when(e.createdAt)),
          h('td', {}, e.type),
          h('td', {}, e.consumerGroup ?? ''),
          h('td', { class: 'mono' }, e.detail ? JSON.stringify(e.detail) : ''),
        ),
      ),
    ),
  ];
}

// ---- DEAD triage and redrives

/** Dry-runs a selection, shows counts and a sample, and starts the redrive on Confirm. */
async function redriveDialog(filter, defaultAction) {
  const dry = await api('POST', '/v1/redrives', { filter, dryRun: true, requestedBy: 'console' });
  const actionSelect = h(
    'select',
    { id: 'redrive-action' },
    ['resend', 'confirm', 'cancel'].map((a) => h('option', { value: a, selected: a === defaultAction }, a)),
  );
  const rate = h('input', { id: 'redrive-rate', type: 'number', min: 1, value: 20, size: 5 });
  const who = h('input', { id: 'redrive-by', value: sessionStorage.getItem('rmsg-operator') ?? 'console', size: 14 });
  confirmStep(
    `Redrive ${dry.matched} messages?`,
    [
      h(
        'p',
        { 'data-testid': 'dry-run' },
        `Dry run: ${dry.matched} messages match `,
        h('code', {}, JSON.stringify(filter)),
        '.',
      ),
      table(
        ['sample key', 'topic', 'reason', 'error class'],
        dry.sample.map((s) =>
          h(
            'tr',
            {},
            h('td', {}, s.key),
            h('td', {}, s.topic),
            h('td', {}, s.deadReason ?? ''),
            h('td', {}, s.errorClass),
          ),
        ),
      ),
      h(
        'p',
        {},
        h('label', {}, 'action ', actionSelect),
        ' ',
        h('label', {}, 'messages per second ', rate),
        ' ',
        h('label', {}, 'operator ', who),
      ),
    ],
    'Redrive',
    async () => {
      sessionStorage.setItem('rmsg-operator', who.value);
      await api('POST', '/v1/redrives', {
        filter,
        action: actionSelect.value,
        ratePerSecond: Number(rate.value),
        requestedBy: who.value,
      });
      location.hash = '#/redrives';
    },
  );
}

async function dead() {
  const groups = await api('GET', '/v1/dead-groups');
  const rows = groups.map((g) => {
    const filter = { status: 'DEAD', reason: g.reason, topic: g.topic, errorClass: g.errorClass };
    if (g.consumerGroup) filter.consumerGroup = g.consumerGroup;
    return h(
      'tr',
      { 'data-testid': 'dead-group' },
      h('td', {}, g.reason),
      h('td', {}, g.topic),
      h('td', {}, g.consumerGroup ?? '-'),
      h('td', { class: 'mono', title: g.exampleError ?? '' }, g.errorClass),
      h('td', { class: 'num', 'data-testid': 'dead-count' }, g.count),
      h('td', {}, when(g.oldestDeadAt)),
      h(
        'td',
        {},
        g.sampleKeys.map((k, i) => [i ? ', ' : '', messageLink(k)]),
      ),
      h(
        'td',
        {},
        h(
          'button',
          {
            class: 'primary',
            'data-action': 'redrive-group',
            disabled: !canAct(),
            onclick: () => redriveDialog(filter, g.reason === 'UNCONFIRMED' ? 'confirm' : 'resend').catch(showError),
          },
          g.reason === 'UNCONFIRMED' ? 'Confirm / cancel…' : 'Redrive…',
        ),
      ),
    );
  });
  return [
    h('h2', {}, 'DEAD triage'),
    h(
      'p',
      { class: 'muted' },
      'DEAD messages grouped by reason, topic, consumer group and error class (lastError with ids and numbers taken out). Fix the cause, then redrive a group: a dry run comes first.',
    ),
    groups.length
      ? table(['reason', 'topic', 'group', 'error class', 'count#', 'oldest', 'sample', ''], rows, {
          'data-testid': 'dead-groups',
        })
      : h('p', { 'data-testid': 'no-dead' }, 'No DEAD messages.'),
  ];
}

async function redrives() {
  const list = await api('GET', '/v1/redrives?limit=50');
  if (list.some((r) => r.status === 'RUNNING')) refreshTimer = setTimeout(render, 1500);
  return [
    h('h2', {}, 'Redrives'),
    table(
      [
        'id',
        'status',
        'by',
        'action',
        'filter',
        'rate/s#',
        'progress',
        'done#',
        'skipped#',
        'failed#',
        'created',
        'finished',
      ],
      list.map((r) =>
        h(
          'tr',
          { 'data-testid': 'redrive', 'data-status': r.status },
          h('td', { class: 'mono' }, r.id),
          h('td', {}, status(r.status)),
          h('td', {}, r.requestedBy),
          h('td', {}, r.action),
          h('td', { class: 'mono' }, JSON.stringify(r.filter)),
          h('td', { class: 'num' }, r.ratePerSecond),
          h(
            'td',
            {},
            h(
              'div',
              { class: 'progress', title: `${r.done + r.skipped + r.failed} of ${r.total}` },
              h('div', { style: `width:${r.total ? (100 * (r.done + r.skipped + r.failed)) / r.total : 100}%` }),
            ),
          ),
          h('td', { class: 'num', 'data-testid': 'redrive-done' }, `${r.done}/${r.total}`),
          h('td', { class: 'num' }, r.skipped),
          h('td', { class: 'num', title: r.lastError ?? '' }, r.failed),
          h('td', {}, when(r.createdAt)),
          h('td', {}, when(r.finishedAt)),
        ),
      ),
      { 'data-testid': 'redrives' },
    ),
  ];
}

async function audits() {
  const list = await api('GET', '/v1/audits?limit=20');
  const kinds = ['stuck', 'diverged', 'workflowWithoutRow', 'rowWithoutWorkflow'];
  const run = (repair) =>
    confirmStep(
      `Audit the last 24 hours${repair ? ' and repair' : ''}?`,
      h(
        'p',
        {},
        repair
          ? "Diverged and missing projections are re-synced from their workflow's state."
          : 'Reports only; nothing is changed.',
      ),
      repair ? 'Audit and repair' : 'Audit',
      async () => {
        await api('POST', '/v1/audits', { repair });
        await render();
      },
    );
  return [
    h('h2', {}, 'Audits'),
    h(
      'div',
      { class: 'actions' },
      h('button', { disabled: !canAct(), onclick: () => run(false) }, 'Run audit'),
      h('button', { disabled: !canAct(), onclick: () => run(true) }, 'Run audit with repair'),
    ),
    table(
      ['finished', 'by', 'range', 'repair', 'checked#', ...kinds.map((k) => `${k}#`)],
      list.map((a) =>
        h(
          'tr',
          { 'data-testid': 'audit' },
          h('td', {}, when(a.finishedAt)),
          h('td', {}, a.triggeredBy),
          h('td', {}, `${when(a.from)} – ${when(a.to)}`),
          h('td', {}, a.repair ? 'yes' : 'no'),
          h('td', { class: 'num' }, a.checked),
          kinds.map((k) =>
            h(
              'td',
              { class: 'num', title: (a.findings[k]?.sample ?? []).join(', ') },
              `${a.findings[k]?.count ?? 0}${a.findings[k]?.repaired ? ` (${a.findings[k].repaired} repaired)` : ''}`,
            ),
          ),
        ),
      ),
    ),
  ];
}

// ---- routing

function showError(e) {
  main.replaceChildren(h('p', { class: 'error', 'data-testid': 'error' }, e.message));
}

/** Counts renders: a page whose data comes after the operator moved on is dropped, not drawn. */
let renderSeq = 0;

async function render() {
  clearTimeout(refreshTimer);
  const seq = ++renderSeq;
  const [path, qs] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(qs ?? '');
  const parts = (path || '/overview').split('/').filter(Boolean);
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === parts[0]);
  try {
    const page =
      parts[0] === 'messages' && parts[1]
        ? await detail(decodeURIComponent(parts[1]))
        : parts[0] === 'messages'
          ? await messages(params)
          : parts[0] === 'dead'
            ? await dead()
            : parts[0] === 'redrives'
              ? await redrives()
              : parts[0] === 'audits'
                ? await audits()
                : await overview();
    if (seq !== renderSeq) return;
    main.replaceChildren(...page);
    main.dataset.page = parts[0] ?? 'overview';
  } catch (e) {
    if (seq === renderSeq) showError(e);
  }
}

async function signIn() {
  try {
    const who = await api('GET', '/v1/whoami');
    session.access = who.access;
    session.workflowsUrl = who.temporalWorkflowsUrl;
    document.getElementById('access').textContent =
      who.access === 'write' ? 'operator (can act)' : 'reader (view only)';
  } catch (e) {
    session.access = undefined;
    document.getElementById('access').textContent = e.message;
  }
  await render();
}

document.getElementById('token').value = session.token;
document.getElementById('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  session.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('rmsg-token', session.token);
  void signIn();
});
window.addEventListener('hashchange', render);
void signIn();
