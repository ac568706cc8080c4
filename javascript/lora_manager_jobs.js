/* LoRA Manager: the Jobs panel — txt2img, img2img (an uploaded init image) and control (a control image and
 * a model the host lists) with a LoRA stack, and weight sweeps with their grid, run by the host's own
 * pipelines (inside SDNext), with progress, cancel and the result images.
 * Text from the library is set as text, never parsed as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.jobsLoaded) return;
  LM.jobsLoaded = true;
  const t = (key, vars) => LM.t(key, vars);

  const ACTIVE = new Set(['queued', 'running']);
  // A job's status in the reader's words (the server's word when the table has none).
  function statusText(s) { const v = t(`jobs.status_${s}`); return v === `jobs.status_${s}` ? s : v; }

  class JobsPanel {
    constructor(app) {
      this.app = app;
      this.api = app.api;
      this.stack = []; // [{name, label, weight}]
      this.timer = null;
      const { h } = LM;
      this.stackEl = h('div', { class: 'lm-stack' });
      this.prompt = h('textarea', { class: 'lm-input', rows: '3', placeholder: t('jobs.prompt_ph'), 'aria-label': t('jobs.prompt_label') });
      this.negative = h('textarea', { class: 'lm-input', rows: '2', placeholder: t('jobs.negative_ph'), 'aria-label': t('jobs.negative_label') });
      const field = (label, el) => h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: label }), el);
      const num = (name, value, min, max, step) => h('input', { class: 'lm-input lm-num', type: 'number', name, value: String(value), min: String(min), max: String(max), step: String(step || 1), 'aria-label': t(`jobs.num_${name}`) });
      this.steps = num('steps', 20, 1, 150);
      this.width = num('width', 512, 64, 4096, 8);
      this.height = num('height', 512, 64, 4096, 8);
      this.seed = num('seed', -1, -1, 4294967295);
      this.cfg = num('cfg_scale', 6, 0, 30, 0.5);
      this.triggers = h('input', { type: 'checkbox', checked: true, 'aria-label': t('jobs.add_triggers') });
      this.sweepFrom = num('sweep_from', 0.2, -10, 10, 0.05);
      this.sweepTo = num('sweep_to', 1.0, -10, 10, 0.05);
      this.sweepSteps = num('sweep_count', 5, 2, 12);
      this.kind = h('select', { class: 'lm-input', 'aria-label': t('jobs.kind_label') },
        ['txt2img', 'img2img', 'control'].map((k) => h('option', { value: k, text: k === 'control' ? t('jobs.kind_control') : k })));
      this.kind.addEventListener('change', () => this.showKind());
      this.images = { init: null, control: null }; // upload ids
      const file = (which) => {
        const input = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', 'aria-label': t(`jobs.image_${which}`) });
        input.addEventListener('change', () => this.upload(which, input));
        return input;
      };
      this.initFile = file('init');
      this.controlFile = file('control');
      this.denoise = num('denoising_strength', 0.5, 0, 1, 0.05);
      this.resize = h('select', { class: 'lm-input', 'aria-label': t('jobs.resize_label') },
        ['none', 'fixed', 'crop', 'fill', 'outpaint'].map((m, i) => h('option', { value: String(i), text: t(`jobs.resize_${m}`) })));
      this.resize.value = '1';
      this.controlModel = h('select', { class: 'lm-input', 'aria-label': t('jobs.control_model_label') });
      this.img2imgRow = h('div', { class: 'lm-formrow', hidden: true }, field(t('jobs.init_image'), this.initFile),
        field(t('jobs.denoising'), this.denoise), field(t('jobs.resize'), this.resize));
      this.controlRow = h('div', { class: 'lm-formrow', hidden: true }, field(t('jobs.control_image'), this.controlFile),
        field(t('jobs.control_model'), this.controlModel));
      this.note = h('div', { class: 'lm-message lm-info', hidden: true });
      // Where jobs cannot run (the standalone server) the panel says why instead of offering the form.
      this.available = true;
      this.blocked = h('div', { class: 'lm-message lm-info lm-jobs-unavailable', hidden: true });
      this.list = h('div', { class: 'lm-jobs' });
      // One line on the queue several hosts share through Redis (GET /meta jobs.shared_queue); hidden when off.
      this.shared = h('div', { class: 'lm-message lm-info lm-jobs-shared', hidden: true });
      this.sharedSeen = 0;
      const btn = (text, fn, cls) => h('button', { class: `lm-btn${cls ? ` ${cls}` : ''}`, type: 'button', text, onclick: fn });
      this.element = h('div', { class: 'lm-jobs-panel' }, this.blocked, this.shared,
        h('div', { class: 'lm-jobform' },
          h('h4', { text: t('jobs.new_job') }),
          h('div', { class: 'lm-label', text: t('jobs.stack_hint') }),
          this.stackEl,
          field(t('jobs.kind'), this.kind), this.img2imgRow, this.controlRow,
          field(t('jobs.prompt'), this.prompt), field(t('jobs.negative'), this.negative),
          h('div', { class: 'lm-formrow' }, field(t('jobs.steps'), this.steps), field(t('jobs.width'), this.width), field(t('jobs.height'), this.height),
            field(t('jobs.seed'), this.seed), field(t('jobs.cfg'), this.cfg)),
          h('label', { class: 'lm-inline' }, this.triggers, ` ${t('jobs.add_triggers')}`),
          h('div', { class: 'lm-actions' }, btn(t('jobs.queue_job'), () => this.queue())),
          h('h4', { text: t('jobs.sweep') }),
          h('div', { class: 'lm-label', text: t('jobs.sweep_hint') }),
          h('div', { class: 'lm-formrow' }, field(t('jobs.from'), this.sweepFrom), field(t('jobs.to'), this.sweepTo), field(t('jobs.count'), this.sweepSteps)),
          h('div', { class: 'lm-actions' }, btn(t('jobs.queue_sweep'), () => this.sweep())),
          this.note),
        h('div', { class: 'lm-joblist' }, h('h4', { text: t('jobs.queue_results') }), this.list));
      this.renderStack();
    }

    // GET /meta's jobs.available and reason; a server without them: jobs run where a host is (SDNext's page,
    // or a server that reports one in /system).
    async checkAvailable() {
      let state = null;
      try {
        const meta = await this.api.get('/meta');
        if (meta && meta.jobs && typeof meta.jobs.available === 'boolean') state = meta.jobs;
        else if (!this.app.hostMode) state = { available: !!(await this.api.get('/system')).host, reason: null };
      } catch (err) { return this.available; } // unknown: keep what we knew
      this.setAvailable(state ? state.available : true, state && state.reason);
      this.setShared(state && state.shared_queue);
      return this.available;
    }

    // The shared queue's state in one line: connected, or unreachable since when (jobs then run here only).
    setShared(q) {
      this.sharedSeen = Date.now();
      this.sharedOn = !!(q && q.on);
      this.shared.hidden = !this.sharedOn;
      if (!this.sharedOn) { this.shared.textContent = ''; return; }
      const down = q.redis === 'unreachable';
      this.shared.className = `lm-message ${down ? 'lm-error' : 'lm-info'} lm-jobs-shared`;
      this.shared.dataset.redis = q.redis || '';
      this.shared.title = q.error || '';
      const since = q.since ? new Date(q.since * 1000).toLocaleString() : '?';
      this.shared.textContent = down ? t('jobs.shared_unreachable', { since, n: q.local_fallback || 0 })
        : t(q.redis === 'connected' ? 'jobs.shared_connected' : 'jobs.shared_starting');
    }

    setAvailable(available, reason) {
      this.available = available;
      this.blocked.hidden = available;
      // In the reader's words (the server's reason, in English, is kept on the element for the curious).
      this.blocked.textContent = available ? '' : t('jobs.unavailable');
      this.blocked.dataset.reason = available ? '' : (reason || '');
      for (const el of this.element.children) if (el !== this.blocked && el !== this.shared) el.hidden = !available;
    }

    showKind() {
      const kind = this.kind.value;
      this.img2imgRow.hidden = kind === 'txt2img';
      this.controlRow.hidden = kind !== 'control';
      if (kind === 'control') this.loadControlModels();
    }

    async loadControlModels() {
      const { h, clear } = LM;
      let r = { available: false, models: [] };
      try { r = await this.api.get('/generation/control-models'); } catch (err) { /* shown below */ }
      clear(this.controlModel);
      r.models.forEach((m) => this.controlModel.append(h('option', { value: m, text: m })));
      if (!r.available) this.say(t('jobs.no_control'), true);
    }

    async upload(which, input) {
      const file = input.files && input.files[0];
      if (!file) return;
      try {
        const r = await LM.uploadImage(this.api, file);
        this.images[which] = r.id;
        this.say(t(`jobs.ready_${which}`, { w: r.width, h: r.height }));
      } catch (err) { this.images[which] = null; this.say(t('jobs.image_refused', { why: err.message }), true); }
    }

    add(entry) {
      if (this.stack.some((x) => x.id === entry.id)) { this.app.toast(t('jobs.already'), 'info'); return; }
      this.stack.push({ id: entry.id, name: entry.prompt_name, label: entry.title || entry.name, weight: entry.preferred_weight ?? 1, base: entry.base_model });
      this.renderStack();
      this.app.toast(t('jobs.added', { n: this.stack.length }), 'info');
    }

    renderStack() {
      const { h, clear, badge } = LM;
      clear(this.stackEl);
      if (!this.stack.length) { this.stackEl.append(h('div', { class: 'lm-muted', text: t('jobs.empty') })); return; }
      const bases = new Set(this.stack.map((x) => x.base).filter(Boolean));
      if (bases.size > 1) this.stackEl.append(h('div', { class: 'lm-message lm-error', text: t('jobs.mixed_bases') }));
      this.stack.forEach((item, i) => {
        const w = h('input', { class: 'lm-input lm-num', type: 'number', step: '0.05', min: '-10', max: '10', value: String(item.weight), 'aria-label': t('jobs.weight_of', { name: item.name }) });
        w.addEventListener('change', () => { item.weight = Number(w.value); });
        this.stackEl.append(h('div', { class: 'lm-stackitem' }, badge(item.base), h('span', { class: 'lm-cell-name', text: item.label }), w,
          h('button', { class: 'lm-btn', type: 'button', text: '×', 'aria-label': t('jobs.remove', { name: item.name }), onclick: () => { this.stack.splice(i, 1); this.renderStack(); } })));
      });
    }

    request(overrides) {
      return {
        prompt: this.prompt.value,
        negative_prompt: this.negative.value,
        loras: this.stack.map((x) => ({ name: String(x.id), weight: Number(x.weight) })),
        steps: Number(this.steps.value), width: Number(this.width.value), height: Number(this.height.value),
        seed: Number(this.seed.value), cfg_scale: Number(this.cfg.value), add_triggers: this.triggers.checked,
        ...this.kindFields(), ...overrides,
      };
    }

    kindFields() {
      const kind = this.kind.value;
      const out = { kind };
      if (kind !== 'txt2img') {
        if (this.images.init) out.init_image = this.images.init;
        out.denoising_strength = Number(this.denoise.value);
        out.resize_mode = Number(this.resize.value);
      }
      if (kind === 'control') { out.control_image = this.images.control; out.control_model = this.controlModel.value; }
      return out;
    }

    async queue() {
      await this.submit([this.request({})]);
    }

    async sweep() {
      if (!this.stack.length) { this.say(t('jobs.stack_first'), true); return; }
      const n = Math.max(2, Math.min(12, Number(this.sweepSteps.value) || 5));
      const from = Number(this.sweepFrom.value);
      const to = Number(this.sweepTo.value);
      let seed = Number(this.seed.value);
      if (seed < 0) seed = Math.floor(Math.random() * 4294967295);
      const weights = [];
      for (let i = 0; i < n; i++) weights.push(+(from + ((to - from) * i) / (n - 1)).toFixed(3));
      try {
        const r = await this.api.post('/generation/sweeps', { job: this.request({ seed }), x: { lora: String(this.stack[0].id), weights } });
        this.say(t('jobs.sweep_queued', { n: r.jobs.flat().length }));
        this.refresh();
      } catch (err) {
        this.say(err.code === 'no_host' ? t('jobs.no_host') : t('jobs.not_queued', { why: err.message }), true);
      }
    }

    async submit(requests) {
      let queued = 0;
      for (const req of requests) {
        try {
          await this.api.post('/jobs', req);
          queued += 1;
        } catch (err) {
          this.say(err.code === 'no_host' ? t('jobs.no_host') : t('jobs.not_queued', { why: err.message }), true);
          break;
        }
      }
      if (queued) { this.say(t('jobs.queued', { n: queued })); this.refresh(); }
    }

    say(text, bad) {
      this.note.hidden = false;
      this.note.className = `lm-message ${bad ? 'lm-error' : 'lm-info'}`;
      this.note.textContent = text;
    }

    async refresh() {
      clearTimeout(this.timer);
      let jobs = [];
      try { jobs = await this.api.get('/jobs'); } catch (err) { this.say(t('jobs.list_unavailable', { why: err.message }), true); }
      this.renderJobs(jobs);
      const visible = !this.element.closest('.lm-panel').hidden;
      clearTimeout(this.timer); // overlapping refreshes keep one timer, not one each
      if (visible && jobs.some((j) => ACTIVE.has(j.status))) this.timer = setTimeout(() => this.refresh(), 1000);
      if (this.sharedOn && Date.now() - this.sharedSeen > 5000) this.checkAvailable(); // Redis may come and go
    }

    renderJobs(jobs) {
      const { h, clear } = LM;
      clear(this.list);
      if (!jobs.length) { this.list.append(h('div', { class: 'lm-muted', text: t('jobs.none') })); return; }
      for (const j of jobs) {
        const p = j.progress || {};
        const pct = p.total ? Math.round((100 * p.step) / p.total) : (j.status === 'done' ? 100 : 0);
        const row = h('div', { class: `lm-job lm-job-${j.status}`, dataset: { id: j.id } },
          h('div', { class: 'lm-jobhead' },
            h('span', { class: 'lm-jobstatus', text: statusText(j.status) }),
            h('span', { class: 'lm-muted', text: j.kind || 'txt2img' }),
            h('span', { class: 'lm-jobprompt', text: j.prompt, title: j.prompt }),
            ACTIVE.has(j.status) ? h('button', { class: 'lm-btn lm-danger', type: 'button', text: t('common.cancel'), onclick: () => this.cancel(j.id) }) : null),
          ACTIVE.has(j.status) ? h('div', { class: 'lm-progress' }, h('div', { class: 'lm-bar', style: `width:${pct}%` }),
            h('span', { text: `${p.step || 0}/${p.total || j.steps}${p.eta_s ? ` · ${t('jobs.left', { s: Math.round(p.eta_s) })}` : ''}` })) : null,
          j.error ? h('div', { class: 'lm-message lm-error', text: j.error }) : null,
          (j.warnings || []).map((w) => h('div', { class: 'lm-message lm-info', text: w })));
        const images = (j.result && j.result.images) || [];
        if (images.length) {
          row.append(h('div', { class: 'lm-previews' }, images.map((_, i) => LM.authImage(this.api.url(`/jobs/${encodeURIComponent(j.id)}/images/${i}`), 'lm-preview'))));
        }
        this.list.append(row);
      }
    }

    async cancel(id) {
      try { await this.api.post(`/jobs/${encodeURIComponent(id)}/cancel`); } catch (err) { this.app.toast(t('jobs.not_cancelled', { why: err.message }), 'error'); }
      this.refresh();
    }
  }

  // added when the tab mounts (lora_manager_tab.js)
  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new JobsPanel(app);
    LM.jobs = panel;
    app.addPanel('jobs', t('jobs.tab'), panel.element, () => panel.checkAvailable().then((ok) => { if (ok) panel.refresh(); }));
    const known = app.meta && app.meta.jobs; // asked again when the panel or a detail opens, never at start-up
    if (known && typeof known.available === 'boolean') { panel.setAvailable(known.available, known.reason); panel.setShared(known.shared_queue); }
    LM.detailActions.push((view, entry, bar) => {
      if (!bar || entry.state !== 'ok' || !panel.available) return;
      bar.append(LM.h('button', { class: 'lm-btn', type: 'button', text: t('jobs.add_to_job'), title: t('jobs.add_to_job_hint'), onclick: () => panel.add(view.current || entry) }));
    });
  });
})();
