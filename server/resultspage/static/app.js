// The results page. It reads the files of the latest published snapshot
// (see docs/results-page.md) by URLs relative to itself, so that it works
// behind tallyd (/results/ beside /v1/results/) and from a static copy
// (DIR/results/ beside DIR/v1/results/).
//
// The address keeps what is shown: #c=CONTEST&m=MUNICIPALITY&s=STATION&lang=LANG
// (each optional); ?lang= chooses the language when the fragment does not,
// ?refresh=SECONDS how often latest.json is checked (15 by default).
'use strict';

(function () {
  const ROOT = new URL('../v1/results/', document.baseURI);
  const LANGS = ['sq', 'sr-Latn', 'sr-Cyrl', 'en', 'tr'];
  const TIME_ZONE = 'Europe/Belgrade'; // Kosovo's time
  const query = new URLSearchParams(location.search);
  const refresh = Math.min(3600, Math.max(1, parseInt(query.get('refresh'), 10) || 15));

  let texts = {};       // i18n.json
  let lang = 'sq';
  let fmt = null;       // the formatters of lang
  let latest = null;    // latest.json of the snapshot shown
  let summary = null;   // its summary.json, with the names of names.json
  let names = null;     // names.json, read once
  let view = null;      // {number, code, data | missing | failed}: the open municipality
  let checkedAt = null; // when latest.json last answered
  let unreachable = false;
  let noneYet = false;
  let shown = {};       // the route last rendered
  let focusPending = false;
  let timer = 0;
  let waiting = false;  // a check is due but the page is hidden
  let generation = 0;   // ignores answers to superseded requests

  const $ = (id) => document.getElementById(id);

  // h makes an element. Text is always set as text, never parsed as HTML.
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style') el.setAttribute('style', v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }

  // t is the text of key in the current language, with {name} filled in.
  function t(key, args) {
    const table = texts[lang] || {};
    let s = table[key];
    if (typeof s !== 'string') s = (texts.sq || {})[key];
    if (typeof s !== 'string') s = key;
    return s.replace(/\{(\w+)\}/g, (m, name) => (args && name in args ? String(args[name]) : m));
  }

  // name picks a name of a names map in the current language.
  function name(names, fallback) {
    if (!names) return fallback || '';
    return names[lang] || names.sq || Object.values(names)[0] || fallback || '';
  }

  // ---- numbers and dates ----

  function formatters(l) {
    const table = texts[l] || {};
    const spec = table._format || {};
    const loc = table._locale || l;
    // A browser may know a region's rules but not its language's words
    // (Chromium takes sq-XK, yet has no Albanian month names): ask for both.
    const knows = (ctor) => ctor.supportedLocalesOf([loc]).length > 0 && ctor.supportedLocalesOf([loc.split('-')[0]]).length > 0;
    const hasNumbers = knows(Intl.NumberFormat);
    const hasDates = knows(Intl.DateTimeFormat);
    const f = {};
    if (hasNumbers) {
      const ints = new Intl.NumberFormat(loc, { maximumFractionDigits: 0 });
      const pcts = new Intl.NumberFormat(loc, { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2 });
      f.int = (n) => ints.format(n);
      f.pct = (bp) => pcts.format(bp / 10000);
    } else {
      // The browser lacks the language's data (Chromium has no Albanian):
      // the same rules, from i18n.json.
      const group = (n) => {
        const digits = String(Math.abs(Math.trunc(n)));
        let out = digits;
        if (digits.length >= 3 + (spec.minGroup || 1)) {
          out = digits.replace(/\B(?=(\d{3})+(?!\d))/g, spec.group);
        }
        return (n < 0 ? '-' : '') + out;
      };
      f.int = group;
      f.pct = (bp) => {
        const frac = String(Math.abs(bp) % 100).padStart(2, '0');
        return spec.percent.replace('{n}', group(Math.trunc(bp / 100)) + spec.decimal + frac);
      };
    }
    if (hasDates) {
      const stamp = new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeStyle: 'medium', timeZone: TIME_ZONE });
      const clock = new Intl.DateTimeFormat(loc, { timeStyle: 'medium', timeZone: TIME_ZONE });
      const day = new Intl.DateTimeFormat(loc, { dateStyle: 'long', timeZone: 'UTC' });
      f.stamp = (d) => stamp.format(d);
      f.clock = (d) => clock.format(d);
      f.day = (d) => day.format(d);
    } else {
      const parts = (d, zone) => {
        const p = {};
        new Intl.DateTimeFormat('en-US', {
          timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
          hour: '2-digit', minute: '2-digit', second: '2-digit',
        }).formatToParts(d).forEach((x) => { p[x.type] = x.value; });
        return p;
      };
      const date = (p, months) => spec.date.replace('{d}', p.day).replace('{month}', months[p.month - 1]).replace('{y}', p.year);
      const time = (p) => `${p.hour}:${p.minute}:${p.second}`;
      f.stamp = (d) => { const p = parts(d, TIME_ZONE); return date(p, spec.monthsShort) + ', ' + time(p); };
      f.clock = (d) => time(parts(d, TIME_ZONE));
      f.day = (d) => date(parts(d, 'UTC'), spec.months);
    }
    return f;
  }

  const int = (n) => fmt.int(n);
  const pct = (bp) => fmt.pct(bp);

  // ---- the address ----

  function route() {
    const p = new URLSearchParams(location.hash.slice(1));
    return { c: p.get('c'), m: p.get('m'), s: p.get('s'), lang: p.get('lang') };
  }

  function wantedLang(r) {
    for (const l of [r.lang, query.get('lang')]) {
      if (LANGS.includes(l)) return l;
    }
    return 'sq';
  }

  // href is the fragment of the current route with changes.
  function href(changes) {
    const r = Object.assign(route(), changes);
    const p = new URLSearchParams();
    for (const k of ['c', 'm', 's', 'lang']) {
      if (r[k]) p.set(k, r[k]);
    }
    return '#' + p.toString();
  }

  // ---- loading ----

  async function getJSON(url, init) {
    const res = await fetch(url, init);
    if (!res.ok) {
      const err = new Error(`${url}: ${res.status}`);
      err.status = res.status;
      throw err;
    }
    return res.json();
  }

  // check reads latest.json, revalidating the browser's copy, and loads
  // the snapshot it names when it is not the one shown.
  async function check() {
    clearTimeout(timer);
    waiting = false;
    try {
      const res = await fetch(new URL('latest.json', ROOT), { cache: 'no-cache' });
      if (res.status === 404) {
        noneYet = !summary;
      } else if (!res.ok) {
        throw new Error(`latest.json: ${res.status}`);
      } else {
        const l = await res.json();
        if (!summary || l.number !== latest.number) await load(l);
        noneYet = false;
      }
      unreachable = false;
      checkedAt = new Date();
    } catch (e) {
      unreachable = true;
    }
    renderStatus();
    if (!summary) renderContent();
    timer = setTimeout(() => {
      if (document.hidden) waiting = true;
      else check();
    }, refresh * 1000);
  }

  // withNames gives a summary the names its codes stand for, from the
  // snapshot's names.json: the definition's, the same for every snapshot
  // of the election, so they are fetched once.
  async function withNames(s) {
    if (!names || names.election.id !== s.election) {
      names = await getJSON(new URL(`${s.number}/names.json`, ROOT));
    }
    const byCode = new Map(names.contests.map((c) => [c.contest, c]));
    s.election = names.election;
    s.municipalities = names.municipalities;
    for (const c of s.contests) Object.assign(c, byCode.get(c.contest));
    return s;
  }

  async function load(l) {
    const gen = ++generation;
    const s = await withNames(await getJSON(new URL(l.summary, ROOT)));
    const r = route();
    const v = r.m ? await loadView(s.number, r.m, s) : null;
    if (gen !== generation) return;
    const first = !summary;
    latest = l;
    summary = s;
    view = v;
    renderAll();
    if (!first) $('announce').textContent = t('updated', { n: int(s.number) });
  }

  async function loadView(number, code, s) {
    if (!s.municipalities.some((m) => m.code === code)) return { number, code, missing: true };
    try {
      const data = await getJSON(new URL(`${number}/municipalities/${encodeURIComponent(code)}.json`, ROOT));
      return { number, code, data };
    } catch (e) {
      return { number, code, failed: true };
    }
  }

  async function onHash() {
    const r = route();
    const l = wantedLang(r);
    if (l !== lang) setLang(l);
    if (summary && r.m && (!view || view.code !== r.m || view.number !== summary.number)) {
      const gen = ++generation;
      view = { number: summary.number, code: r.m, loading: true };
      renderAll();
      const v = await loadView(summary.number, r.m, summary);
      if (gen !== generation) return;
      view = v;
    }
    renderAll();
  }

  // ---- rendering ----

  function setLang(l) {
    lang = l;
    fmt = formatters(l);
    document.documentElement.lang = l;
    document.querySelectorAll('[data-t]').forEach((el) => { el.textContent = t(el.dataset.t); });
    $('languages').setAttribute('aria-label', t('language'));
    $('refresh-note').textContent = t('refresh-note', { s: int(refresh) });
  }

  function renderAll() {
    const r = route();
    renderHeader();
    renderPicker(r);
    renderStatus();
    renderContent();
    renderData(r);
    // Moving to another municipality or station moves the focus to its
    // heading, once it is shown, for keyboards and screen readers.
    if (summary && shown.rendered && (r.m !== shown.m || r.s !== shown.s)) focusPending = true;
    const heading = $('view-heading');
    if (focusPending && heading) {
      heading.focus();
      focusPending = false;
    }
    shown = { m: r.m, s: r.s, rendered: !!summary };
  }

  function renderHeader() {
    for (const a of document.querySelectorAll('#languages a')) {
      a.href = href({ lang: a.dataset.lang });
      if (a.dataset.lang === lang) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
    if (!summary) return;
    const e = summary.election;
    const title = name(e.name, e.id);
    $('election').textContent = title;
    document.title = `${t('title')}: ${title}`;
    const kind = t(`kind.${e.kind}`);
    const day = e.date ? t('election-date', { date: fmt.day(new Date(`${e.date}T00:00:00Z`)) }) : '';
    $('election-info').textContent = [kind, day].filter(Boolean).join(' · ');
  }

  function renderStatus() {
    const parts = [];
    if (latest) {
      parts.push(t('snapshot', { n: int(latest.number) }));
      parts.push(t('published-at', { time: fmt.stamp(new Date(latest.created_at)) }));
    }
    if (checkedAt) parts.push(t('checked-at', { time: fmt.clock(checkedAt) }));
    $('status').textContent = parts.join(' · ');
    const problem = $('problem');
    problem.hidden = !unreachable;
    problem.textContent = unreachable ? t('unreachable') : '';
  }

  function renderPicker(r) {
    const picker = $('picker');
    if (!summary || summary.contests.length < 2) {
      picker.hidden = true;
      return;
    }
    picker.hidden = false;
    const select = $('contest');
    const current = contestOf(r);
    const groups = new Map();
    for (const c of summary.contests) {
      if (!groups.has(c.kind)) groups.set(c.kind, []);
      groups.get(c.kind).push(c);
    }
    const kids = [];
    for (const [kind, list] of groups) {
      const options = list.map((c) => h('option', { value: c.contest, selected: c === current },
        c.municipality ? municipalityName(c.municipality) : name(c.name, c.contest)));
      kids.push(groups.size > 1 ? h('optgroup', { label: t(`contest.${kind}`) }, options) : options);
    }
    select.replaceChildren(...kids.flat());
    select.value = current.contest;
  }

  // contestOf is the contest the route shows: the one it names, else the
  // first that concerns its municipality, else the first.
  function contestOf(r) {
    const cs = summary.contests;
    let c = cs.find((x) => x.contest === r.c);
    if (c && r.m && c.municipality && c.municipality !== r.m) {
      c = cs.find((x) => x.kind === c.kind && x.municipality === r.m);
    }
    if (!c && r.m) c = cs.find((x) => !x.municipality || x.municipality === r.m);
    return c || cs[0];
  }

  function municipalityName(code) {
    const m = summary.municipalities.find((x) => x.code === code);
    return m ? name(m.name, code) : code;
  }

  function renderContent() {
    const main = $('content');
    if (!summary) {
      let msg = t('loading');
      if (unreachable) msg = t('unreachable');
      else if (noneYet) msg = t('none-yet');
      main.replaceChildren(h('p', { class: 'muted' }, msg));
      return;
    }
    const r = route();
    const c = contestOf(r);
    let body;
    if (!r.m) body = overview(c);
    else if (!view || view.code !== r.m || view.loading) body = [crumbs(r, c), h('p', { class: 'muted' }, t('loading'))];
    else if (view.missing || view.failed) body = [crumbs(r, c), h('p', { class: 'problem' }, view.missing ? t('unknown', { code: r.m }) : t('unreachable'))];
    else if (!r.s) body = municipality(r, c, view.data);
    else body = station(r, c, view.data);
    // A new rendering keeps the focus on the link that had it.
    const active = main.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
    main.replaceChildren(...[body].flat());
    if (active) {
      const again = Array.from(main.querySelectorAll('a[href]')).find((a) => a.getAttribute('href') === active);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function crumbs(r, c) {
    const items = [h('li', {}, h('a', { href: href({ c: c.contest, m: null, s: null }) }, t('all-municipalities')))];
    if (r.m) {
      const label = municipalityName(r.m);
      items.push(h('li', {}, r.s ? h('a', { href: href({ c: c.contest, s: null }) }, label) : h('span', { 'aria-current': 'page' }, label)));
    }
    if (r.s) items.push(h('li', {}, h('span', { 'aria-current': 'page' }, r.s)));
    return h('nav', { class: 'crumbs', 'aria-label': t('where') }, h('ol', {}, items));
  }

  function figures(tally) {
    const item = (label, value, detail) => h('div', {}, h('dt', {}, label), h('dd', {}, value), detail ? h('dd', { class: 'detail' }, detail) : null);
    return h('dl', { class: 'figures' },
      item(t('stations-reported'), t('of', { a: int(tally.reported), b: int(tally.stations) })),
      item(t('turnout'), pct(tally.turnout_bp), t('turnout-detail', { voted: int(tally.voted), registered: int(tally.registered_reported) })),
      item(t('valid'), int(tally.valid)),
      item(t('invalid'), int(tally.invalid)));
  }

  function entityHeader(c) {
    return c.kind === 'mayor' ? t('candidate') : t('entity');
  }

  function entitiesTable(c, entities, tally, caption) {
    const rows = entities.map((e, i) => ({ e, votes: tally.votes[i] || 0, share: tally.shares_bp[i] || 0 }));
    rows.sort((a, b) => b.votes - a.votes || a.e.number - b.e.number);
    // The bars are drawn to the scale of the largest share.
    const top = Math.max(1, ...rows.map((x) => x.share));
    return h('div', { class: 'scroll' }, h('table', { class: 'entities' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col', class: 'num' }, t('number')),
        h('th', { scope: 'col' }, entityHeader(c)),
        h('th', { scope: 'col', class: 'num' }, t('votes')),
        h('th', { scope: 'col', class: 'share' }, t('share')))),
      h('tbody', {}, rows.map((x) => h('tr', {},
        h('td', { class: 'num' }, x.e.number),
        h('th', { scope: 'row' }, x.e.name),
        h('td', { class: 'num' }, int(x.votes)),
        h('td', { class: 'share' },
          h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: `width:${(100 * x.share / top).toFixed(2)}%` })),
          h('span', { class: 'pct' }, pct(x.share))))))));
  }

  // overview: the contest in the whole of its area, and its municipalities.
  function overview(c) {
    const area = c.municipality ? municipalityName(c.municipality) : t('all-municipalities');
    return [
      h('section', { 'aria-labelledby': 'view-heading' },
        h('h2', { id: 'view-heading', tabindex: '-1' }, name(c.name, c.contest)),
        h('p', { class: 'muted' }, area),
        figures(c.national),
        entitiesTable(c, c.entities, c.national, t('votes-in', { area }))),
      h('section', { 'aria-labelledby': 'municipalities-heading' },
        h('h2', { id: 'municipalities-heading' }, t('municipalities')),
        municipalitiesTable(c)),
    ];
  }

  // municipalitiesTable: for a nationwide contest its municipalities; for
  // a municipal one every municipality's contest of the same kind.
  function municipalitiesTable(c) {
    const rows = [];
    if (!c.municipality) {
      for (const tally of c.municipalities) rows.push({ contest: c, tally });
    } else {
      for (const k of summary.contests) {
        if (k.kind !== c.kind) continue;
        const tally = k.municipalities.find((x) => x.code === k.municipality) || k.national;
        rows.push({ contest: k, tally: Object.assign({}, tally, { code: k.municipality }) });
      }
    }
    return h('div', { class: 'scroll' }, h('table', { class: 'municipalities' },
      h('caption', { class: 'visually-hidden' }, t('municipalities')),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, t('municipality')),
        h('th', { scope: 'col', class: 'num' }, t('stations-reported')),
        h('th', { scope: 'col', class: 'num' }, t('turnout')),
        h('th', { scope: 'col', class: 'num' }, t('valid')),
        h('th', { scope: 'col' }, t('leading')))),
      h('tbody', {}, rows.map(({ contest, tally }) => {
        let lead = null;
        tally.votes.forEach((v, i) => { if (v > 0 && (lead === null || v > tally.votes[lead])) lead = i; });
        return h('tr', { 'aria-current': contest === c && c.municipality ? 'true' : null },
          h('th', { scope: 'row' }, h('a', { href: href({ c: contest.contest, m: tally.code, s: null }) }, municipalityName(tally.code))),
          h('td', { class: 'num' }, t('of', { a: int(tally.reported), b: int(tally.stations) })),
          h('td', { class: 'num' }, pct(tally.turnout_bp)),
          h('td', { class: 'num' }, int(tally.valid)),
          h('td', {}, lead === null ? '—' : `${contest.entities[lead].name} (${pct(tally.shares_bp[lead])})`));
      }))));
  }

  const short = (hex) => (hex ? h('code', { title: hex }, hex.slice(0, 12) + '…') : t('none'));

  function formOf(v, station, contest, kind) {
    return v.forms.find((f) => f.station === station && f.contest === contest && f.form === kind);
  }

  // municipality: the contest in one municipality, down to its stations.
  function municipality(r, c, v) {
    const mc = v.contests.find((x) => x.contest === c.contest);
    const out = [crumbs(r, c)];
    const title = name(v.municipality.name, v.municipality.code);
    out.push(h('h2', { id: 'view-heading', tabindex: '-1' }, title), h('p', { class: 'muted' }, name(c.name, c.contest)));
    if (!mc) {
      out.push(h('p', { class: 'muted' }, t('unknown', { code: c.contest })));
      return out;
    }
    out.push(figures(mc.municipality), entitiesTable(c, mc.entities, mc.municipality, t('votes-in', { area: title })));
    const stations = new Map(mc.stations.map((x) => [x.code, x]));
    const centres = new Map(mc.centres.map((x) => [x.code, x]));
    out.push(h('h2', { id: 'centres-heading' }, t('centres')));
    for (const centre of v.centres) {
      const ct = centres.get(centre.code);
      const list = v.stations.filter((s) => s.centre === centre.code && stations.has(s.code));
      if (!list.length) continue;
      const id = `centre-${centre.code}`;
      out.push(h('section', { class: 'centre', 'aria-labelledby': id },
        h('h3', { id }, `${centre.name} `, h('span', { class: 'code' }, centre.code)),
        ct ? h('p', { class: 'muted' }, [
          t('centre-reported', { a: int(ct.reported), b: int(ct.stations) }),
          `${t('turnout')} ${pct(ct.turnout_bp)}`,
          `${t('valid')}: ${int(ct.valid)}`].join(' · ')) : null,
        stationsTable(r, c, v, list, stations, id)));
    }
    const counting = v.stations.filter((s) => s.kind === 'counting');
    const countingForms = counting.flatMap((s) => v.forms.filter((f) => f.station === s.code && f.contest === c.contest)
      .map((f) => ({ s, f })));
    if (countingForms.length) {
      out.push(h('section', { 'aria-labelledby': 'counting-heading' },
        h('h2', { id: 'counting-heading' }, t('counting-centres')),
        h('div', { class: 'scroll' }, h('table', { 'aria-labelledby': 'counting-heading' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('counting-centre')),
            h('th', { scope: 'col' }, t('form')),
            h('th', { scope: 'col', class: 'num' }, t('version')),
            h('th', { scope: 'col' }, t('review')),
            h('th', { scope: 'col' }, t('digest-short')),
            h('th', { scope: 'col' }, t('photo-short')))),
          h('tbody', {}, countingForms.map(({ s, f }) => h('tr', {},
            h('th', { scope: 'row' }, h('a', { href: href({ s: s.code }) }, `${s.code} ${s.name}`)),
            h('td', {}, t(`form.${f.form}`)),
            h('td', { class: 'num' }, int(f.version)),
            h('td', {}, t(`review-short.${f.review}`)),
            h('td', {}, short(f.digest)),
            h('td', {}, short(f.photo_sha256)))))))));
    }
    return out;
  }

  function stationsTable(r, c, v, list, tallies, labelledBy) {
    return h('div', { class: 'scroll' }, h('table', { class: 'stations', 'aria-labelledby': labelledBy },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, t('station')),
        h('th', { scope: 'col', class: 'num' }, t('registered')),
        h('th', { scope: 'col', class: 'num' }, t('voted')),
        h('th', { scope: 'col', class: 'num' }, t('turnout')),
        h('th', { scope: 'col', class: 'num' }, t('invalid')),
        h('th', { scope: 'col', class: 'num' }, t('valid')),
        h('th', { scope: 'col', class: 'num' }, t('version')),
        h('th', { scope: 'col' }, t('review')),
        h('th', { scope: 'col' }, t('digest-short')),
        h('th', { scope: 'col' }, t('photo-short')))),
      h('tbody', {}, list.map((s) => {
        const x = tallies.get(s.code);
        const f = formOf(v, s.code, c.contest, 'results');
        // The centre's name is the section's heading: the code suffices.
        const link = h('th', { scope: 'row' }, h('a', { href: href({ s: s.code }), title: s.name }, s.code));
        if (!x.reported || !f) {
          return h('tr', { class: 'pending' }, link,
            h('td', { class: 'num' }, int(x.registered)),
            h('td', { colspan: 8, class: 'muted' }, t('not-reported')));
        }
        return h('tr', {}, link,
          h('td', { class: 'num' }, int(x.registered)),
          h('td', { class: 'num' }, int(x.voted)),
          h('td', { class: 'num' }, pct(x.turnout_bp)),
          h('td', { class: 'num' }, int(x.invalid)),
          h('td', { class: 'num' }, int(x.valid)),
          h('td', { class: 'num' }, int(f.version)),
          h('td', {}, t(`review-short.${f.review}`)),
          h('td', {}, short(f.digest)),
          h('td', {}, short(f.photo_sha256)));
      }))));
  }

  // station: one station's counts and the form they come from.
  function station(r, c, v) {
    const s = v.stations.find((x) => x.code === r.s);
    const out = [crumbs(r, c)];
    if (!s) {
      out.push(h('p', { class: 'problem' }, t('unknown', { code: r.s })));
      return out;
    }
    const centre = v.centres.find((x) => x.code === s.centre);
    out.push(h('h2', { id: 'view-heading', tabindex: '-1' }, `${s.code} ${s.name}`),
      h('p', { class: 'muted' }, [
        s.kind === 'counting' ? t('counting-centre') : (centre ? `${t('centre')}: ${centre.name}` : t('station')),
        name(v.municipality.name, v.municipality.code), name(c.name, c.contest)].join(' · ')));
    const mc = v.contests.find((x) => x.contest === c.contest);
    const x = mc && mc.stations.find((y) => y.code === s.code);
    const forms = v.forms.filter((f) => f.station === s.code && f.contest === c.contest);
    if (x && x.reported) {
      const rows = [
        ['A', t('field.A'), x.registered_reported], ['B', t('field.B'), x.voted],
        ['C', t('field.C'), x.ballots_received], ['D', t('field.D'), x.ballots_unused],
        ['E', t('field.E'), x.ballots_spoiled], ['F', t('field.F'), x.ballots_in_box],
        ['G', t('field.G'), x.invalid], ['H', t('field.H'), x.valid]];
      out.push(h('dl', { class: 'figures' },
        h('div', {}, h('dt', {}, t('turnout')), h('dd', {}, pct(x.turnout_bp)),
          h('dd', { class: 'detail' }, t('turnout-detail', { voted: int(x.voted), registered: int(x.registered_reported) })))));
      out.push(h('div', { class: 'scroll' }, h('table', { class: 'counts' },
        h('caption', {}, t('counts')),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('code')), h('th', { scope: 'col' }, t('field')), h('th', { scope: 'col', class: 'num' }, t('count')))),
        h('tbody', {}, rows.map(([code, label, n]) => h('tr', {},
          h('td', {}, code), h('th', { scope: 'row' }, label), h('td', { class: 'num' }, int(n))))))));
      out.push(entitiesTable(c, mc.entities, x, t('votes-in', { area: `${s.code} ${s.name}` })));
    } else if (s.kind !== 'counting') {
      out.push(h('p', { class: 'muted' }, t('not-reported')));
    }
    for (const f of forms) {
      const item = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
      out.push(h('section', { class: 'form', 'aria-labelledby': `form-${f.form}` },
        h('h3', { id: `form-${f.form}` }, `${t('form')}: ${t(`form.${f.form}`)}`),
        h('dl', { class: 'facts' },
          item(t('version'), int(f.version)),
          item(t('review'), t(`review.${f.review}`)),
          item(t('received-at'), fmt.stamp(new Date(f.received_at))),
          item(t('digest'), h('code', { class: 'hash' }, f.digest)),
          item(t('photo'), f.photo_sha256 ? h('code', { class: 'hash' }, f.photo_sha256) : t('none')))));
    }
    return out;
  }

  function renderData(r) {
    const section = $('data');
    if (!summary) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    const c = contestOf(r);
    const base = new URL(`${summary.number}/`, ROOT);
    const file = (key) => summary.files[key] && new URL(summary.files[key], base).href;
    const links = [];
    const contestName = name(c.name, c.contest);
    for (const [key, label] of [['stations.csv', 'csv-stations'], ['municipalities.csv', 'csv-municipalities']]) {
      const url = file(`${c.contest}/${key}`);
      if (url) links.push(h('li', {}, h('a', { href: url, download: `${c.contest}-${summary.number}-${key}`, type: 'text/csv' }, t(label, { contest: contestName }))));
    }
    const snap = file('snapshot');
    if (snap) links.push(h('li', {}, h('a', { href: snap, type: 'application/json' }, t('snapshot-link'))));
    $('data-links').replaceChildren(...links);
    $('snapshot-digest').replaceChildren(t('snapshot-digest'), ' ', h('code', { class: 'hash' }, latest.digest));
  }

  // ---- start ----

  async function start() {
    try {
      texts = await getJSON(new URL('i18n.json', document.baseURI));
    } catch (e) {
      texts = {};
    }
    setLang(wantedLang(route()));
    renderHeader();
    window.addEventListener('hashchange', onHash);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && waiting) check();
    });
    $('contest').addEventListener('change', (e) => {
      const r = route();
      const c = summary.contests.find((x) => x.contest === e.target.value);
      // A nationwide contest keeps the open municipality and station; a
      // municipal one opens its own municipality, if one was open.
      let m = r.m;
      if (m && c && c.municipality) m = c.municipality;
      location.hash = href({ c: e.target.value, m, s: m === r.m ? r.s : null });
    });
    check();
  }

  start();
}());
