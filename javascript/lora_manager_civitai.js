/* LoRA Manager: Civitai updates and downloads (docs/civitai.md) — the Civitai panel (download by URL,
 * version id or AIR; the queue with progress, pause, resume, cancel; the LoRAs with a newer version),
 * the "update" badge on cards, and a LoRA's Civitai versions in its detail, each downloadable beside
 * it or in its place. Text from Civitai and the library is set as text, never parsed as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.civitaiLoaded) return;
  LM.civitaiLoaded = true;
  const t = (key, vars) => LM.t(key, vars);

  const ACTIVE = new Set(['queued', 'running']);
  // A download's state in the reader's words (the server's word when the table has none).
  function stateText(s) { const v = t(`cv.state_${s}`); return v === `cv.state_${s}` ? s : v; }
  LM.civitaiUpdates = new Map(); // LoRA id -> its update item (GET /civitai/updates)

  const mib = (n) => (n == null ? '?' : `${(n / 1048576).toFixed(1)} MiB`);
  const versionLabel = (v) => `${v.name || v.id}${v.base_model ? ` · ${v.base_model}` : ''}${v.published_at ? ` · ${v.published_at.slice(0, 10)}` : ''}`;

  // The card's badge (lora_manager_tab_grid.js asks the view for it).
  (LM.viewParts = LM.viewParts || []).push((lib) => ({
    updateBadge(e) {
      const item = LM.civitaiUpdates.get(e.id);
      if (!item || !item.newer.length) return null;
      const top = item.newer[0];
      return lib.h('span', { class: 'lm-update', title: t('cv.newer_title', { version: versionLabel(top) }), text: t('cv.update_badge') });
    },
  }));

  class CivitaiPanel {
    constructor(app) {
      const { h } = LM;
      this.app = app;
      this.api = app.api;
      this.timer = null;
      this.ref = h('input', { class: 'lm-input', placeholder: t('cv.ref_ph'), 'aria-label': t('cv.ref_label') });
      this.folder = h('input', { class: 'lm-input', placeholder: t('cv.folder_ph'), 'aria-label': t('cv.folder_label') });
      this.ref.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.download(); });
      this.note = h('div', { class: 'lm-message lm-info', hidden: true });
      this.queueEl = h('div', { class: 'lm-jobs lm-downloads' });
      this.updatesEl = h('div', { class: 'lm-jobs lm-updates' });
      this.checkState = h('div', { class: 'lm-muted' });
      const btn = (text, fn) => h('button', { class: 'lm-btn', type: 'button', text, onclick: fn });
      this.element = h('div', { class: 'lm-jobs-panel lm-civitai-panel' },
        h('div', { class: 'lm-jobform' },
          h('h4', { text: t('cv.download_title') }),
          h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: t('cv.ref_field') }), this.ref),
          h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: t('move.folder') }), this.folder),
          h('div', { class: 'lm-actions' }, btn(t('cv.download'), () => this.download())),
          this.note,
          h('h4', { text: t('cv.newer_versions') }),
          this.checkState,
          h('div', { class: 'lm-actions' }, btn(t('cv.check_now'), () => this.check())),
          this.updatesEl),
        h('div', { class: 'lm-joblist' }, h('h4', { text: t('cv.downloads') }), this.queueEl));
    }

    say(text, bad) {
      this.note.hidden = false;
      this.note.className = `lm-message ${bad ? 'lm-error' : 'lm-info'}`;
      this.note.textContent = text;
    }

    async start(body) {
      try {
        const job = await this.api.post('/civitai/downloads', body);
        this.say(t('cv.queued', { ref: job.ref }));
        this.app.toast(t('cv.queued_toast'), 'info');
        this.loadQueue();
        return job;
      } catch (err) {
        this.say(t('jobs.not_queued', { why: err.message }), true);
        this.app.toast(t('jobs.not_queued', { why: err.message }), 'error');
        return null;
      }
    }

    download() {
      const ref = this.ref.value.trim();
      if (!ref) { this.say(t('cv.need_ref'), true); return; }
      const body = { ref };
      if (this.folder.value.trim()) body.folder = this.folder.value.trim();
      this.start(body).then((job) => { if (job) this.ref.value = ''; });
    }

    async refresh() {
      await Promise.all([this.loadQueue(), this.loadUpdates()]);
    }

    async loadQueue() {
      clearTimeout(this.timer);
      let data = { items: [] };
      try { data = await this.api.get('/civitai/downloads'); } catch (err) { this.say(t('cv.downloads_unavailable', { why: err.message }), true); }
      this.renderQueue(data.items || []);
      const visible = !this.element.closest('.lm-panel').hidden;
      const running = (data.items || []).some((j) => ACTIVE.has(j.state));
      clearTimeout(this.timer);
      if (running && visible) this.timer = setTimeout(() => this.loadQueue(), 1000);
      if (this.wasRunning && !running) this.app.reload('filter'); // a file landed: the list shows it
      this.wasRunning = running;
    }

    renderQueue(jobs) {
      const { h, clear } = LM;
      clear(this.queueEl);
      if (!jobs.length) { this.queueEl.append(h('div', { class: 'lm-muted', text: t('cv.no_downloads') })); return; }
      for (const j of jobs) {
        const pct = j.progress == null ? 0 : Math.round(100 * j.progress);
        const act = (text, fn, cls) => h('button', { class: `lm-btn${cls ? ` ${cls}` : ''}`, type: 'button', text, onclick: fn });
        const name = [j.model_name, j.version_name].filter(Boolean).join(' · ') || j.ref;
        const buttons = [];
        if (j.state === 'running' || j.state === 'queued') buttons.push(act(t('cv.pause'), () => this.act(j.id, 'pause')));
        if (j.state === 'paused' || j.state === 'failed') buttons.push(act(t('cv.resume'), () => this.act(j.id, 'resume')));
        buttons.push(act(ACTIVE.has(j.state) || j.state === 'paused' || j.state === 'failed' ? t('common.cancel') : t('act.forget'),
          () => this.act(j.id, 'cancel'), ACTIVE.has(j.state) ? 'lm-danger' : ''));
        const row = h('div', { class: `lm-job lm-job-${j.state}`, dataset: { id: j.id } },
          h('div', { class: 'lm-jobhead' },
            h('span', { class: 'lm-jobstatus', text: stateText(j.state) }),
            h('span', { class: 'lm-jobprompt', text: name, title: j.target || j.ref }),
            ...buttons),
          j.state !== 'done' && j.state !== 'cancelled' ? h('div', { class: 'lm-progress' }, h('div', { class: 'lm-bar', style: `width:${pct}%` }),
            h('span', { text: `${t('cv.of', { done: mib(j.done_bytes), size: mib(j.size) })}${j.progress != null ? ` · ${pct}%` : ''}` })) : null,
          j.state === 'done' && j.target ? h('div', { class: 'lm-muted', text: j.target }) : null,
          j.error ? h('div', { class: `lm-message ${j.state === 'done' ? 'lm-info' : 'lm-error'}`, text: j.error }) : null);
        this.queueEl.append(row);
      }
    }

    async act(id, what) {
      const path = `/civitai/downloads/${encodeURIComponent(id)}`;
      try {
        if (what === 'cancel') await this.api.del(path); else await this.api.post(`${path}/${what}`);
      } catch (err) { this.app.toast(t(`cv.failed_${what}`, { why: err.message }), 'error'); }
      this.loadQueue();
    }

    async loadUpdates() {
      let data = null;
      try { data = await this.api.get('/civitai/updates'); } catch (err) { this.checkState.textContent = t('cv.updates_unavailable', { why: err.message }); return null; }
      LM.civitaiUpdates = new Map(data.items.map((i) => [i.lora.id, i]));
      const s = data.status;
      const utc = (iso) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
      this.checkState.textContent = s.running ? `${t('cv.checking')} ${s.progress ? `${s.progress.done}/${s.progress.total}` : ''}`
        : (s.last_checked_at ? t('cv.last_checked', { when: utc(s.last_checked_at) }) : t('cv.not_checked_yet'))
          + (s.next_check_at ? t('cv.next_check', { when: utc(s.next_check_at) }) : '');
      this.renderUpdates(data.items);
      this.app.render(true); // the cards' badges
      return data;
    }

    renderUpdates(items) {
      const { h, clear } = LM;
      clear(this.updatesEl);
      if (!items.length) { this.updatesEl.append(h('div', { class: 'lm-muted', text: t('cv.no_updates') })); return; }
      for (const item of items) {
        const top = item.newer[0];
        this.updatesEl.append(h('div', { class: 'lm-job lm-update-item', dataset: { id: String(item.lora.id) } },
          h('div', { class: 'lm-jobhead' },
            h('a', { href: '#', class: 'lm-jobprompt', text: item.lora.prompt_name, onclick: (ev) => { ev.preventDefault(); this.app.showPanel('library'); this.app.openDetail(item.lora.id); } }),
            h('span', { class: 'lm-muted', text: `${item.version_name || item.version_id || '?'} → ${versionLabel(top)} ${t('cv.n_newer', { n: item.newer.length })}` })),
          versionButtons(this, item, top)));
      }
    }

    async check() {
      try { await this.api.post('/civitai/updates/check'); } catch (err) { this.checkState.textContent = t('cv.not_checked', { why: err.message }); return; }
      const poll = async () => {
        const data = await this.loadUpdates();
        if (data && data.status.running) setTimeout(poll, 1000);
      };
      poll();
    }
  }

  // "Download beside" / "Replace" for one version of the LoRA `item` names.
  function versionButtons(panel, item, version) {
    const { h } = LM;
    const ref = `urn:air:any:lora:civitai:${item.model_id}@${version.id}`;
    const start = (replace) => panel.start({ ref, update: { of: String(item.lora.id), replace, carry_user_data: !replace } });
    return h('div', { class: 'lm-actions' },
      h('button', { class: 'lm-btn', type: 'button', text: t('cv.beside'), title: t('cv.beside_hint'), onclick: () => start(false) }),
      h('button', { class: 'lm-btn', type: 'button', text: t('cv.replace'), title: t('cv.replace_hint'), onclick: () => start(true) }));
  }

  // A LoRA's versions on Civitai, in its detail.
  async function detailVersions(panel, view, entry, bar) {
    const { h } = LM;
    let data;
    try { data = await panel.api.get(`/civitai/updates?lora=${encodeURIComponent(entry.id)}`); } catch (err) { return; } // names no model, or not checked yet
    const item = data.items[0];
    if (!item || !view.current || view.current.id !== entry.id) return;
    const newer = new Set(item.newer.map((v) => v.id));
    const list = h('ul', { class: 'lm-list-plain lm-versions' }, item.versions.map((v) => h('li', { class: newer.has(v.id) ? 'lm-newer' : '' },
      h('span', { text: `${versionLabel(v)}${v.id === item.version_id ? ` ${t('cv.this_one')}` : ''}${newer.has(v.id) ? ` — ${t('cv.newer')}` : ''}` }),
      newer.has(v.id) ? versionButtons(panel, item, v) : null)));
    const box = h('div', { class: 'lm-section lm-civitai-versions' }, h('h4', { text: t('cv.on_civitai', { name: item.model_name || item.model_id }) }), list);
    bar.after(box);
  }

  // added when the tab mounts (lora_manager_tab.js)
  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new CivitaiPanel(app);
    LM.civitai = panel;
    app.addPanel('civitai', t('cv.tab'), panel.element, () => panel.refresh());
    panel.loadUpdates(); // the badges, from the last check
    LM.detailActions.push((view, entry, bar) => {
      if (bar && entry.state === 'ok') detailVersions(panel, view, entry, bar);
    });
  });
})();
