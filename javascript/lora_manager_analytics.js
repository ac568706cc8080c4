/* LoRA Manager: the Analytics panel — generations over time, most and least used LoRAs,
 * never used ones (with their size on disk), co-usage, base families, failures and trigger
 * words, from the generations this extension recorded; CSV export of the raw events.
 * Charts are small SVGs built through the DOM; every label is set as text. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.analyticsLoaded) return;
  LM.analyticsLoaded = true;
  const t = (key, vars) => LM.t(key, vars);

  const SVG = 'http://www.w3.org/2000/svg';
  const ranges = () => [['', t('an.all_time')], ['7', t('an.last_7')], ['30', t('an.last_30')], ['90', t('an.last_90')], ['365', t('an.last_year')]];
  const OUTCOMES = [['done', 'lm-c-done'], ['interrupted', 'lm-c-interrupted'], ['failed', 'lm-c-failed']];

  function svg(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function localZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch (e) { return 'UTC'; }
  }

  // An outcome or a failure cause from the server: its words where the table has them, else as sent.
  function outcomeText(k) { const v = t(`an.outcome_${k}`); return v === `an.outcome_${k}` ? k : v; }
  function failureText(k) { const v = t(`an.failure_${k}`); return v === `an.failure_${k}` ? k.replace('_', ' ') : v; }

  function shortDate(iso) { return iso ? String(iso).slice(0, 10) : ''; }

  /** Stacked bars of done / interrupted / failed per bucket. */
  function timelineChart(rows) {
    const width = 760;
    const height = 180;
    const pad = { l: 36, r: 8, t: 8, b: 28 };
    const root = svg('svg', { class: 'lm-chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': t('an.timeline_label') });
    if (!rows.length) { root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'lm-chart-label' }, t('an.no_generations'))); return root; }
    const max = Math.max(1, ...rows.map((r) => r.generations || 0));
    const plotW = width - pad.l - pad.r;
    const plotH = height - pad.t - pad.b;
    const bw = plotW / rows.length;
    for (const frac of [0, 0.5, 1]) {
      const y = pad.t + plotH * (1 - frac);
      root.append(svg('line', { x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: 'lm-chart-grid' }));
      root.append(svg('text', { x: pad.l - 4, y: y + 4, 'text-anchor': 'end', class: 'lm-chart-label' }, String(Math.round(max * frac))));
    }
    rows.forEach((r, i) => {
      let y = pad.t + plotH;
      const g = svg('g', {});
      g.append(svg('title', {}, `${r.bucket}: ${r.generations} (${OUTCOMES.map(([k]) => `${t(`an.outcome_${k}`)} ${r[k] || 0}`).join(', ')})`));
      for (const [key, cls] of OUTCOMES) {
        const h = (plotH * (r[key] || 0)) / max;
        if (!h) continue;
        y -= h;
        g.append(svg('rect', { x: pad.l + i * bw + bw * 0.1, y, width: Math.max(1, bw * 0.8), height: h, class: cls }));
      }
      root.append(g);
      const every = Math.ceil(rows.length / 8);
      if (i % every === 0) root.append(svg('text', { x: pad.l + i * bw + bw / 2, y: height - 10, 'text-anchor': 'middle', class: 'lm-chart-label' }, r.bucket));
    });
    return root;
  }

  /** Horizontal bars: [{label, value, onclick?}]. */
  function barList(items, unit) {
    const { h } = LM;
    const max = Math.max(1, ...items.map((x) => x.value));
    return h('div', { class: 'lm-bars' }, items.map((x) => h('div', { class: 'lm-barrow' },
      x.onclick ? h('a', { href: '#', class: 'lm-barlabel', text: x.label, title: x.label, onclick: (e) => { e.preventDefault(); x.onclick(); } })
        : h('span', { class: 'lm-barlabel', text: x.label, title: x.label }),
      h('span', { class: 'lm-bartrack' }, h('span', { class: 'lm-barfill', style: `width:${(100 * x.value) / max}%` })),
      h('span', { class: 'lm-barvalue', text: `${x.value.toLocaleString()}${unit ? ` ${unit}` : ''}` }))));
  }

  class AnalyticsPanel {
    constructor(app) {
      const { h } = LM;
      this.app = app;
      this.api = app.api;
      this.range = h('select', { class: 'lm-select', 'aria-label': t('an.range'), onchange: () => this.load() }, ranges().map(([v, text]) => h('option', { value: v, text })));
      this.bucket = h('select', { class: 'lm-select', 'aria-label': t('an.bucket'), onchange: () => this.load() }, ['day', 'week', 'month'].map((b) => h('option', { value: b, text: t(`an.by_${b}`) })));
      this.zone = localZone();
      this.body = h('div', { class: 'lm-analytics-body' });
      this.element = h('div', { class: 'lm-analytics' },
        h('div', { class: 'lm-toolbar' }, this.range, this.bucket,
          h('span', { class: 'lm-muted', text: t('an.time_zone', { zone: this.zone }) }),
          h('button', { class: 'lm-btn', type: 'button', text: t('an.refresh'), onclick: () => this.load() }),
          h('button', { class: 'lm-btn', type: 'button', text: t('an.export'), onclick: () => this.exportCsv() })),
        this.body);
    }

    query() {
      const p = new URLSearchParams({ tz: this.zone, bucket: this.bucket.value, top: '15' });
      if (this.range.value) p.set('since', new Date(Date.now() - Number(this.range.value) * 86400e3).toISOString());
      return p;
    }

    async load() {
      const { h, clear } = LM;
      const t0 = performance.now();
      const seq = (this.seq = (this.seq || 0) + 1);
      let s;
      try { s = await this.api.get(`/analytics/summary?${this.query()}`); } catch (err) {
        if (seq !== this.seq) return;
        clear(this.body).append(h('div', { class: 'lm-message lm-error', text: err.message }));
        return;
      }
      if (seq !== this.seq) return; // the range changed while this one was on its way
      LM.metrics.analyticsMs = performance.now() - t0;
      this.render(s);
    }

    render(s) {
      const { h, clear } = LM;
      const open = (row) => () => { if (row.id) { this.app.showPanel('library'); this.app.openDetail(row.id); } };
      const tl = s.timeline || [];
      const sum = (k) => tl.reduce((a, r) => a + (r[k] || 0), 0);
      const tot = s.totals || {};
      const nu = s.never_used || {};
      const tile = (label, value) => h('div', { class: 'lm-tile' }, h('div', { class: 'lm-tile-value', text: value }), h('div', { class: 'lm-tile-label', text: label }));
      const card = (title, content) => h('div', { class: 'lm-acard' }, h('h4', { text: title }), content);
      const empty = (text) => h('div', { class: 'lm-muted', text });
      const failures = Object.entries(tot.lora_failures || {}).map(([k, v]) => ({ label: failureText(k), value: v }));
      clear(this.body).append(
        h('div', { class: 'lm-tiles' },
          tile(t('an.generations'), (tot.generations || 0).toLocaleString()),
          ...OUTCOMES.map(([k]) => tile(t(`an.outcome_${k}`), sum(k).toLocaleString())),
          tile(t('an.mean_time'), tot.mean_done_ms ? `${(tot.mean_done_ms / 1000).toFixed(1)} s` : '—'),
          tile(t('an.never_used'), `${(nu.count || 0).toLocaleString()} · ${LM.fmtSize(nu.bytes || 0)}`)),
        card(t('an.over_time'), h('div', {}, timelineChart(tl), h('div', { class: 'lm-legend' }, OUTCOMES.map(([k, cls]) => h('span', {}, h('i', { class: cls }), ` ${t(`an.outcome_${k}`)}`))))),
        h('div', { class: 'lm-agrid' },
          card(t('an.most_used'), (s.most_used || []).length ? barList(s.most_used.map((r) => ({ label: r.prompt_name, value: r.uses, onclick: r.id ? open(r) : null })), t('an.uses')) : empty(t('an.nothing_yet'))),
          card(t('an.least_used'), (s.least_used || []).length ? this.table([t('an.col_lora'), t('an.uses'), t('an.last_used')], s.least_used.map((r) => [this.link(r, open), r.uses, shortDate(r.last_used)])) : empty('—')),
          card(t('an.never_used_title', { n: (nu.count || 0).toLocaleString(), size: LM.fmtSize(nu.bytes || 0) }), (nu.largest || []).length
            ? this.table([t('an.largest'), t('an.size')], nu.largest.map((r) => [this.link(r, open), LM.fmtSize(r.size)])) : empty(t('an.all_used'))),
          card(t('an.together'), (s.co_usage || []).length ? this.table([t('an.col_lora'), t('an.with'), t('an.generations')], s.co_usage.map((r) => [r.a, r.b, r.generations])) : empty(t('an.no_stacks'))),
          card(t('an.families'), (tot.families || []).length ? barList(tot.families.map((r) => ({ label: LM.familyLabel(r.family === 'unknown' ? '' : r.family), value: r.generations })), '') : empty('—')),
          card(t('an.triggers'), (s.top_triggers || []).length ? barList(s.top_triggers.map((r) => ({ label: r.word, value: r.generations })), '') : empty('—')),
          card(t('an.failures'), failures.length ? barList(failures, '') : empty(t('an.none')))));
    }

    link(row, open) {
      const { h } = LM;
      return row.id ? h('a', { href: '#', text: row.prompt_name, onclick: (e) => { e.preventDefault(); open(row)(); } }) : h('span', { text: row.prompt_name });
    }

    table(head, rows) {
      const { h } = LM;
      return h('table', { class: 'lm-atable' }, h('thead', {}, h('tr', {}, head.map((x) => h('th', { text: x })))),
        h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c instanceof Node ? c : String(c ?? '')))))));
    }

    async exportCsv() {
      const p = this.query();
      const since = p.get('since');
      const q = new URLSearchParams();
      if (since) q.set('since', since);
      try {
        const headers = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
        const res = await fetch(this.api.url(`/analytics/events.csv?${q}`), { headers, credentials: 'same-origin' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const url = URL.createObjectURL(await res.blob());
        const a = LM.h('a', { href: url, download: 'lora-manager-events.csv' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (err) { this.app.toast(t('an.export_failed', { why: err.message }), 'error'); }
    }
  }

  // added when the tab mounts (lora_manager_tab.js)
  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new AnalyticsPanel(app);
    LM.analytics = panel;
    app.addPanel('analytics', t('an.tab'), panel.element, () => panel.load());
    // "Usage" in the detail panel: this LoRA's own figures.
    LM.detailActions.push((view, entry) => {
      const { h } = LM;
      const body = h('div', { class: 'lm-usage' }, h('span', { class: 'lm-muted', text: t('an.loading') }));
      view.detail.append(h('details', { class: 'lm-section', open: true }, h('summary', { text: t('an.usage') }), body));
      view.api.get(`/analytics/loras/${entry.id}`).then((u) => {
        LM.clear(body);
        if (!u.requests) { body.append(h('span', { class: 'lm-muted', text: t('an.never_in_recorded') })); return; }
        const secs = (ms) => (ms ? `${(ms / 1000).toFixed(1)} s` : '—');
        body.append(view.kvTable([
          [t('an.uses_applied'), u.uses], [t('an.asked_for'), u.requests], [t('an.first_used'), shortDate(u.first_used)],
          [t('an.last_used_cap'), shortDate(u.last_used)],
          [t('an.outcomes'), Object.entries(u.outcomes || {}).filter(([, n]) => n).map(([k, n]) => `${outcomeText(k)} ${n}`).join(', ')],
          [t('an.mean_with_without'), `${secs(u.mean_ms_with)} / ${secs(u.mean_ms_without)}`],
        ]));
        const weights = Object.entries(u.weights || {}).sort((a, b) => Number(a[0]) - Number(b[0]));
        if (weights.length) body.append(h('div', { class: 'lm-label', text: t('an.weights_used') }), barList(weights.map(([w, n]) => ({ label: w, value: n })), ''));
        const fams = Object.entries(u.families || {});
        if (fams.length) body.append(h('div', { class: 'lm-label', text: t('an.with_checkpoints') }), barList(fams.map(([f, n]) => ({ label: LM.familyLabel(f === 'unknown' ? '' : f), value: n })), ''));
      }).catch((err) => { LM.clear(body).append(h('span', { class: 'lm-muted', text: t('an.unavailable', { why: err.message }) })); });
    });
  });
})();
