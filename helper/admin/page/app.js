// Ferry helper admin page. Plain browser JavaScript, no build step.
// Every value from the helper is put into the page with textContent (or a
// DOM property such as title or value), never as HTML.
'use strict';
(() => {
  const TOKEN_KEY = 'ferry-admin-token';
  const API = 'api/v1/';
  const $ = (id) => document.getElementById(id);

  let source = null;
  let reconnectTimer = null;

  // ---- formatting -------------------------------------------------------

  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  function bytes(n) {
    if (n === null || n === undefined) return '–';
    let i = 0;
    let v = n;
    while (v >= 1024 && i < UNITS.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + ' ' + UNITS[i];
  }
  const rate = (n) => bytes(n) + '/s';
  function duration(ms) {
    if (ms === null || ms === undefined) return '–';
    let s = Math.max(0, Math.round(ms / 1000));
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + s + 's';
    return s + 's';
  }
  const ago = (t, now) => (t ? duration((now || Date.now()) - t) + ' ago' : '–');
  const shortSi = (si) => si.slice(0, 10) + '…';

  // ---- DOM helpers ------------------------------------------------------

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setText(node, text) {
    const t = String(text);
    if (node.textContent !== t) node.textContent = t;
  }
  function message(text, isError) {
    const m = $('message');
    m.textContent = text || '';
    m.className = isError ? 'error' : '';
  }
  function fillDl(dl, pairs) {
    const nodes = [];
    for (const [k, v] of pairs) nodes.push(el('dt', '', k), el('dd', '', v));
    dl.replaceChildren(...nodes);
  }
  function bar(kind) {
    const wrap = el('div', 'bar');
    const p = el('progress', kind);
    p.max = 1;
    p.value = 0;
    const label = el('span', kind + '-label', '–');
    wrap.append(p, label);
    return { wrap, p, label };
  }
  function setBar(b, done, total) {
    if (!total) {
      b.p.value = 0;
      setText(b.label, '–');
      b.p.title = '';
      return;
    }
    const f = Math.max(0, Math.min(1, done / total));
    b.p.value = f;
    setText(b.label, Math.floor(f * 100) + '%');
    b.p.title = bytes(done) + ' of ' + bytes(total);
  }

  // ---- API --------------------------------------------------------------

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  async function api(method, path) {
    const t = token();
    if (!t) throw new Error('not signed in');
    const res = await fetch(API + path, { method, headers: { Authorization: 'Bearer ' + t }, cache: 'no-store' });
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (res.status === 401) {
      signOut('The admin token was refused.');
      throw new Error('unauthorized');
    }
    if (!res.ok) throw new Error((body && body.message) || 'HTTP ' + res.status);
    return body;
  }

  async function action(button, method, path, describe) {
    button.disabled = true;
    try {
      const body = await api(method, path);
      message(describe(body));
      return body;
    } catch (err) {
      if (err.message !== 'unauthorized') message(err.message, true);
      return undefined;
    } finally {
      button.disabled = false;
    }
  }

  // ---- live updates -----------------------------------------------------

  function setConn(live) {
    const c = $('conn');
    setText(c, live ? 'live' : 'reconnecting…');
    c.className = 'pill ' + (live ? 'on' : 'off');
  }

  async function connect() {
    clearTimeout(reconnectTimer);
    if (source) source.close();
    source = null;
    if (!token()) return;
    try {
      const { ticket } = await api('POST', 'ticket');
      const es = new EventSource(API + 'events?ticket=' + encodeURIComponent(ticket));
      source = es;
      es.addEventListener('snapshot', (e) => {
        if (source !== es) return;
        setConn(true);
        render(JSON.parse(e.data));
      });
      es.onerror = () => {
        // Tickets work once: a reconnect needs a new one.
        es.close();
        if (source !== es) return;
        source = null;
        setConn(false);
        reconnectTimer = setTimeout(connect, 2000);
      };
    } catch (err) {
      setConn(false);
      if (token() && err.message !== 'unauthorized') reconnectTimer = setTimeout(connect, 5000);
    }
  }

  // ---- rendering --------------------------------------------------------

  function render(snap) {
    renderOverview(snap.overview);
    renderJobs(snap.jobs, snap.activeTotal);
    renderRecent(snap.recent, snap.overview.now);
    renderServers(snap.servers, snap.overview.now);
  }

  function renderIntake(paused) {
    const i = $('intake');
    i.hidden = false;
    setText(i, paused ? 'intake paused' : 'intake open');
    i.className = 'pill ' + (paused ? 'paused' : 'on');
    $('pause-intake').hidden = paused;
    $('resume-intake').hidden = !paused;
  }

  function renderOverview(o) {
    setText($('version'), 'v' + o.version + ' · up ' + duration(o.uptimeSeconds * 1000));
    renderIntake(o.intakePaused);
    const j = o.jobs;
    fillDl($('ov-jobs'), [
      ['receiving', j.receiving],
      ['queued', j.queued],
      ['encoding', j.encoding],
      ['failed', j.failed],
      ['done', j.done],
      ['cancelled', j.cancelled],
    ]);
    // The current rate (the last few seconds); the minute average hides a fast upload.
    const t = o.throughputNow || o.throughput;
    fillDl($('ov-throughput'), [
      ['received', rate(t.received)],
      ['encoded', rate(t.encoded)],
      ['pushed', rate(t.pushed)],
    ]);
    fillDl($('ov-holding'), [
      ['incoming', bytes(o.holding.incoming)],
      ['encoding', bytes(o.holding.encoding)],
      ['spool files', o.holding.files],
      ['quota', o.holding.quota ? bytes(o.holding.quota) : 'none'],
    ]);
    const sweep = o.lastSweep;
    fillDl($('ov-helper'), [
      ['queue', o.queue.running + ' running, ' + o.queue.waiting + ' waiting'],
      ['servers', o.servers.reachable + ' of ' + o.servers.configured + ' reachable'],
      ['checks', o.stats.uploadRequests + ' (' + o.stats.alreadyPresent + ' already present)'],
      ['last sweep', sweep ? ago(sweep.at, o.now) : 'not yet'],
    ]);
  }

  const jobRows = new Map();

  /** The client token's id (a hash prefix, never the token), or "repair" for the helper's own jobs. */
  function ownerCell(owner, kind) {
    const td = el('td', 'owner');
    if (owner) {
      const code = el('code', '', owner);
      code.title = 'client token id ' + owner;
      td.append(code);
    } else td.textContent = kind === 'repair' ? 'repair' : '–';
    return td;
  }

  function jobRow(si) {
    const tr = el('tr');
    tr.dataset.si = si;
    const siCell = el('td');
    const code = el('code', '', shortSi(si));
    code.title = si;
    siCell.append(code);
    const owner = el('td', 'owner');
    const state = el('span', 'pill');
    const stateCell = el('td');
    stateCell.append(state);
    const size = el('td', 'num');
    const received = bar('received');
    const encoded = bar('encoded');
    const pushed = bar('pushed');
    const cells = [received, encoded, pushed].map((b) => {
      const td = el('td');
      td.append(b.wrap);
      return td;
    });
    const attempts = el('td', 'num');
    const error = el('td', 'err');
    const buttons = el('td');
    const retry = el('button', 'retry', 'Retry');
    retry.type = 'button';
    retry.addEventListener('click', () =>
      action(retry, 'POST', 'jobs/' + encodeURIComponent(si) + '/retry', () => 'Job ' + shortSi(si) + ' queued again.'),
    );
    const cancel = el('button', 'cancel danger', 'Cancel');
    cancel.type = 'button';
    cancel.addEventListener('click', () => {
      if (!window.confirm('Cancel job ' + si + ' and delete its spool?')) return;
      action(cancel, 'POST', 'jobs/' + encodeURIComponent(si) + '/cancel', () => 'Job ' + shortSi(si) + ' cancelled; its spool is deleted.');
    });
    buttons.append(retry, ' ', cancel);
    tr.append(siCell, owner, stateCell, size, ...cells, attempts, error, buttons);
    return { tr, owner, state, size, received, encoded, pushed, attempts, error, retry, cancel };
  }

  function renderJobs(jobs, total) {
    const body = $('jobs').tBodies[0];
    const seen = new Set();
    jobs.forEach((j, i) => {
      seen.add(j.storageIndex);
      let r = jobRows.get(j.storageIndex);
      if (!r) {
        r = jobRow(j.storageIndex);
        jobRows.set(j.storageIndex, r);
      }
      if (body.children[i] !== r.tr) body.insertBefore(r.tr, body.children[i] || null);
      if (r.owner.dataset.owner !== String(j.owner)) {
        r.owner.replaceWith((r.owner = ownerCell(j.owner, j.kind)));
        r.owner.dataset.owner = String(j.owner);
      }
      const stage = j.running && j.state === 'receiving' ? 'receiving+encoding' : j.state;
      setText(r.state, (j.kind === 'repair' ? 'repair: ' : '') + stage);
      r.state.className = 'pill ' + j.state;
      r.tr.dataset.state = j.state;
      const p = j.progress;
      setText(r.size, bytes(p.size));
      setBar(r.received, p.received, p.size);
      setBar(r.encoded, p.segmentsEncoded, p.numSegments);
      setBar(r.pushed, p.pushedBytes, p.pushTotal);
      setText(r.attempts, j.attempts);
      const err = j.lastError || '';
      setText(r.error, err.length > 200 ? err.slice(0, 200) + '…' : err);
      r.error.title = err;
      r.retry.hidden = j.state !== 'failed';
      r.cancel.hidden = j.state === 'done' || j.state === 'cancelled';
    });
    for (const [si, r] of jobRows) {
      if (!seen.has(si)) {
        r.tr.remove();
        jobRows.delete(si);
      }
    }
    $('jobs-empty').hidden = jobs.length > 0;
    setText($('active-count'), total > jobs.length ? '(' + jobs.length + ' of ' + total + ')' : '(' + total + ')');
  }

  function renderRecent(jobs, now) {
    const rows = jobs.map((j) => {
      const tr = el('tr');
      tr.dataset.si = j.storageIndex;
      const code = el('code', '', shortSi(j.storageIndex));
      code.title = j.storageIndex;
      const siCell = el('td');
      siCell.append(code);
      const stateCell = el('td');
      stateCell.append(el('span', 'pill ' + j.state, (j.kind === 'repair' ? 'repair: ' : '') + j.state));
      const note = el('td', j.state === 'done' ? 'muted' : 'err', j.lastError || '');
      note.title = j.lastError || '';
      tr.append(siCell, ownerCell(j.owner, j.kind), stateCell, el('td', 'num', bytes(j.params.size)), el('td', 'num', String(j.attempts)), el('td', '', ago(j.finishedAt || j.updatedAt, now)), note);
      return tr;
    });
    $('recent').tBodies[0].replaceChildren(...rows);
    $('recent-empty').hidden = jobs.length > 0;
  }

  function renderServers(servers, now) {
    const rows = servers.map((s) => {
      const tr = el('tr');
      tr.dataset.url = s.url;
      const status = el('span', 'pill ' + (s.reachable ? 'up' : 'down'), s.reachable ? 'reachable' : 'unreachable');
      const statusCell = el('td');
      statusCell.append(status);
      const id = el('td');
      const code = el('code', '', s.id ? s.id.slice(0, 10) + '…' : '–');
      code.title = s.id || '';
      id.append(code);
      const err = el('td', 'err', s.lastError ? s.lastError + (s.lastErrorAt ? ' (' + ago(s.lastErrorAt, now) + ')' : '') : '');
      err.title = s.lastError || '';
      tr.append(
        el('td', '', s.url),
        id,
        statusCell,
        el('td', 'num', s.latencyMs === null ? '–' : s.latencyMs + ' ms'),
        el('td', 'num', bytes(s.availableSpace)),
        el('td', 'num', String(s.sharesPushed)),
        err,
        el('td', '', ago(s.checkedAt, now)),
      );
      return tr;
    });
    $('servers').tBodies[0].replaceChildren(...rows);
    $('servers-empty').hidden = servers.length > 0;
  }

  // ---- sign in / out ----------------------------------------------------

  function showDash(on) {
    $('login').hidden = on;
    $('conn').hidden = !on;
    $('dash').hidden = !on;
    $('actions').hidden = !on;
  }

  function signOut(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(reconnectTimer);
    if (source) source.close();
    source = null;
    jobRows.clear();
    $('jobs').tBodies[0].replaceChildren();
    showDash(false);
    $('conn').className = 'pill off';
    setText($('conn'), 'offline');
    $('intake').hidden = true;
    message(why || '', Boolean(why));
    $('token').focus();
  }

  async function start() {
    try {
      const o = await api('GET', 'overview');
      showDash(true);
      message('');
      renderOverview(o);
      connect();
    } catch (err) {
      if (err.message !== 'unauthorized') message('Cannot reach the helper: ' + err.message, true);
    }
  }

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = $('token').value.trim();
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    $('token').value = '';
    start();
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('pause-intake').addEventListener('click', (e) =>
    action(e.currentTarget, 'POST', 'intake/pause', (b) => {
      renderIntake(b.intakePaused);
      return 'Intake paused: new uploads get 503 with Retry-After; running jobs go on.';
    }),
  );
  $('resume-intake').addEventListener('click', (e) =>
    action(e.currentTarget, 'POST', 'intake/resume', (b) => {
      renderIntake(b.intakePaused);
      return 'Intake resumed.';
    }),
  );
  $('run-sweep').addEventListener('click', (e) =>
    action(
      e.currentTarget,
      'POST',
      'sweep',
      (r) => 'Sweep done: ' + r.expiredSpools.length + ' idle spool(s) and ' + r.orphanFiles.length + ' orphan file(s) removed, ' + bytes(r.freedBytes) + ' freed.',
    ),
  );
  $('probe-servers').addEventListener('click', (e) =>
    action(e.currentTarget, 'POST', 'servers/probe', (b) => {
      renderServers(b.servers, Date.now());
      return 'Probed ' + b.servers.length + ' server(s): ' + b.servers.filter((s) => s.reachable).length + ' reachable.';
    }),
  );

  if (token()) start();
  else signOut();
})();
