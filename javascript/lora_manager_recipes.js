/* LoRA Manager: the Recipes panel — saved prompts with their settings and LoRA stack. Cards with the
 * cover, each LoRA marked present or missing, filters by words, tag and LoRA; drop or pick an image to make
 * a recipe from its generation parameters; send to the host's txt2img (its paste button reads the
 * infotext), run as a job, copy the prompt, export (JSON, PNG), delete. Text from recipes and images is
 * set as text, never parsed as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.recipesLoaded) return;
  LM.recipesLoaded = true;
  const t = (key, vars) => LM.t(key, vars);
  const SEND_TABS = ['txt2img', 'img2img', 'control'];
  function hostBox(tab) {
    const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
    return (app && app.querySelector && app.querySelector(`#${tab}_prompt textarea`)) || document.querySelector(`#${tab}_prompt textarea`);
  }

  class RecipesPanel {
    constructor(app) {
      this.app = app;
      this.api = app.api;
      this.filters = { q: '', tag: '', lora: '' };
      const { h } = LM;
      let timer = null;
      this.search = h('input', { class: 'lm-input lm-search', type: 'search', placeholder: t('rcp.search_ph'), 'aria-label': t('rcp.search_label') });
      this.search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { this.filters.q = this.search.value.trim(); this.load(); }, 150); });
      this.tagSel = h('select', { class: 'lm-select', 'aria-label': t('rcp.tag_label'), onchange: (e) => { this.filters.tag = e.target.value; this.load(); } });
      this.loraInput = h('input', { class: 'lm-input', placeholder: t('rcp.lora_ph'), 'aria-label': t('rcp.lora_label') });
      this.loraInput.addEventListener('change', () => { this.filters.lora = this.loraInput.value.trim(); this.load(); });
      this.file = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp,application/json', hidden: true, 'aria-label': t('rcp.image_label') });
      this.file.addEventListener('change', () => { if (this.file.files[0]) this.upload(this.file.files[0]); this.file.value = ''; });
      this.drop = h('div', { class: 'lm-recipe-drop', tabindex: '0', role: 'button', text: t('rcp.drop'), onclick: () => this.file.click() });
      for (const ev of ['dragenter', 'dragover']) this.drop.addEventListener(ev, (e) => { e.preventDefault(); this.drop.classList.add('lm-over'); });
      this.drop.addEventListener('dragleave', () => this.drop.classList.remove('lm-over'));
      this.drop.addEventListener('drop', (e) => {
        e.preventDefault();
        this.drop.classList.remove('lm-over');
        const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
        if (f) this.upload(f);
      });
      this.note = h('div', { class: 'lm-message', hidden: true, 'aria-live': 'polite' });
      this.recent = h('div', { class: 'lm-recipe-recent' });
      this.history = h('details', { class: 'lm-recipe-history' }, h('summary', { text: t('rcp.from_event') }), this.recent);
      this.history.addEventListener('toggle', () => { if (this.history.open) this.loadHistory(); });
      this.count = h('span', { class: 'lm-count' });
      this.list = h('div', { class: 'lm-recipes' });
      const fromPrompt = app.hostMode ? h('button', { class: 'lm-btn', type: 'button', text: t('rcp.from_prompt'), title: t('rcp.from_prompt_hint'), onclick: () => this.fromPrompt() }) : null;
      this.element = h('div', { class: 'lm-recipes-panel' },
        h('div', { class: 'lm-toolbar' }, this.search, this.tagSel, this.loraInput, fromPrompt, this.count),
        this.drop, this.history, this.file, this.note, this.list);
    }

    say(text, error) {
      this.note.hidden = !text;
      this.note.className = `lm-message ${error ? 'lm-error' : 'lm-info'}`;
      this.note.textContent = text || '';
    }

    async load() {
      const p = new URLSearchParams({ limit: '200' });
      for (const [k, v] of Object.entries(this.filters)) if (v) p.set(k, v);
      try {
        const [page, tags] = await Promise.all([this.api.get(`/recipes?${p}`), this.api.get('/recipes/tags')]);
        this.renderTags(tags);
        this.render(page);
      } catch (err) { this.say(t('rcp.not_loaded', { why: err.message }), true); }
    }

    renderTags(tags) {
      const { h, clear } = LM;
      const cur = this.filters.tag;
      clear(this.tagSel).append(h('option', { value: '', text: t('rcp.all_tags') }),
        ...tags.map((x) => h('option', { value: x.tag, text: `${x.tag} (${x.count})` })));
      this.tagSel.value = cur;
    }

    render(page) {
      const { h, clear } = LM;
      clear(this.list);
      this.count.textContent = t(page.total === 1 ? 'rcp.one' : 'rcp.many', { n: page.total });
      if (!page.items.length) { this.list.append(h('div', { class: 'lm-muted', text: t('rcp.none') })); return; }
      for (const r of page.items) this.list.append(this.card(r));
    }

    card(r) {
      const { h } = LM;
      const btn = (text, fn, cls) => h('button', { class: `lm-btn${cls ? ` ${cls}` : ''}`, type: 'button', text, onclick: fn });
      const cover = r.has_cover ? LM.authImage(this.api.url(`/recipes/${r.id}/cover?v=${encodeURIComponent(r.updated_at)}`), 'lm-recipe-cover')
        : h('div', { class: 'lm-recipe-cover lm-noimg', text: t('rcp.no_cover') });
      const loras = h('ul', { class: 'lm-recipe-loras' }, r.loras.map((lo) => h('li', {
        class: lo.present ? 'lm-present' : 'lm-missing', title: lo.note || (lo.present ? t('rcp.in_library', { by: lo.matched_by }) : t('rcp.not_in_library')),
      }, h('span', { text: lo.present ? '✓ ' : '✗ ' }), h('span', { class: 'lm-recipe-lora', text: `${lo.name} ${lo.weight}` }),
      lo.civitai_url && !lo.present ? h('a', { href: lo.civitai_url, target: '_blank', rel: 'noopener noreferrer', text: ' Civitai' }) : null)));
      const settings = [r.steps && t('rcp.steps', { n: r.steps }), r.sampler, r.cfg_scale != null && `CFG ${r.cfg_scale}`, r.seed != null && t('res.seed', { seed: r.seed }),
        r.width && r.height && `${r.width}×${r.height}`, r.checkpoint].filter(Boolean).join(' · ');
      const el = h('div', { class: 'lm-recipe', dataset: { id: String(r.id) } },
        cover,
        h('div', { class: 'lm-recipe-body' },
          h('div', { class: 'lm-recipe-title', text: r.title }),
          h('div', { class: 'lm-recipe-prompt', text: r.prompt, title: r.prompt }),
          settings ? h('div', { class: 'lm-muted', text: settings }) : null,
          loras,
          r.tags.length ? h('div', { class: 'lm-recipe-tags' }, r.tags.map((tag) => h('button', { class: 'lm-chip', type: 'button', text: tag, onclick: () => { this.filters.tag = tag; this.load(); } }))) : null,
          r.notes ? h('div', { class: 'lm-recipe-notes lm-muted', text: r.notes }) : null,
          (r.warnings || []).map((w) => h('div', { class: 'lm-message lm-warn', text: w })),
          h('div', { class: 'lm-actions' },
            ...SEND_TABS.filter((tab) => tab === 'txt2img' || this.app.hostMode || hostBox(tab)).map((tab) => btn(t('rcp.send', { tab }), () => this.send(r, tab))),
            btn(t('rcp.run'), () => this.run(r)), btn(t('rcp.copy_prompt'), () => this.copyPrompt(r)),
            btn(t('rcp.edit'), () => this.edit(r, el)),
            btn(t('rcp.export_json'), () => this.download(r, 'json')), btn(t('rcp.export_png'), () => this.download(r, 'png')),
            btn(t('act.delete'), () => this.remove(r), 'lm-danger'))));
      return el;
    }

    // A labelled form in the card: title, tags (comma separated), notes, prompt and negative prompt. Only the
    // fields changed go in the PATCH; the server's answer redraws the card, its refusal stays in the form.
    edit(r, el) {
      const { h } = LM;
      const open = el.querySelector('.lm-recipe-edit');
      if (open) { open.querySelector('input').focus(); return; }
      const field = (label, input) => h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: label }), input);
      const inputs = {
        title: h('input', { class: 'lm-input', name: 'title', value: r.title }),
        tags: h('input', { class: 'lm-input', name: 'tags', value: r.tags.join(', '), placeholder: t('form.tags_ph') }),
        notes: h('textarea', { class: 'lm-input', name: 'notes', rows: '3', value: r.notes || '' }),
        prompt: h('textarea', { class: 'lm-input', name: 'prompt', rows: '3', value: r.prompt || '' }),
        negative_prompt: h('textarea', { class: 'lm-input', name: 'negative_prompt', rows: '2', value: r.negative_prompt || '' }),
      };
      const error = h('div', { class: 'lm-message lm-error', role: 'alert', hidden: true });
      const save = h('button', { class: 'lm-btn lm-primary', type: 'submit', text: t('rcp.save') });
      const form = h('form', { class: 'lm-recipe-edit', 'aria-label': t('rcp.edit_label', { title: r.title }) },
        field(t('rcp.title'), inputs.title), field(t('rcp.tags'), inputs.tags), field(t('rcp.notes'), inputs.notes),
        field(t('rcp.prompt'), inputs.prompt), field(t('rcp.negative'), inputs.negative_prompt), error,
        h('div', { class: 'lm-actions' }, save, h('button', { class: 'lm-btn', type: 'button', text: t('common.cancel'), onclick: () => form.remove() })));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const now = { title: inputs.title.value.trim(), notes: inputs.notes.value, prompt: inputs.prompt.value, negative_prompt: inputs.negative_prompt.value,
          tags: inputs.tags.value.split(',').map((x) => x.trim()).filter(Boolean) };
        const was = { title: r.title, notes: r.notes || '', prompt: r.prompt || '', negative_prompt: r.negative_prompt || '', tags: r.tags };
        const body = {};
        for (const k of Object.keys(now)) if (JSON.stringify(now[k]) !== JSON.stringify(was[k])) body[k] = now[k];
        if (!Object.keys(body).length) { form.remove(); return; }
        save.disabled = true;
        try {
          const saved = await this.api.patch(`/recipes/${r.id}`, body);
          el.replaceWith(this.card(saved));
          this.say(t('rcp.saved', { title: saved.title }));
          this.api.get('/recipes/tags').then((tags) => this.renderTags(tags), () => {});
        } catch (err) {
          const why = ((err.details && err.details.errors) || []).map((x) => `${(x.loc || []).filter((p) => p !== 'body').join('.')}: ${x.msg}`).join('; ');
          error.hidden = false;
          error.textContent = t('edit.not_saved_toast', { why: why || err.message });
          save.disabled = false;
        }
      });
      el.querySelector('.lm-recipe-body').append(form);
      inputs.title.focus();
    }

    async upload(file) {
      const isJson = file.type === 'application/json' || /\.json$/i.test(file.name);
      const type = isJson ? 'application/json' : (file.type || 'application/octet-stream');
      this.say(t('rcp.reading', { name: file.name }));
      try {
        const auth = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
        const bytes = new Uint8Array(await file.arrayBuffer());
        const carries = !isJson && new TextDecoder('latin1').decode(bytes.subarray(0, 1 << 20)).includes('lora-manager-recipe');
        const path = isJson || carries ? '/recipes/import' : `/recipes/from-image?title=${encodeURIComponent(file.name.replace(/\.[^.]+$/, '').slice(0, 200))}`;
        const res = await window.fetch(this.api.url(path), { method: 'POST', credentials: 'same-origin', headers: { ...auth, 'Content-Type': type }, body: bytes });
        const data = await res.json().catch(() => null);
        if (!res.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
        const made = data.recipes || [data];
        const missing = made.flatMap((r) => r.loras.filter((lo) => !lo.present)).length;
        this.say(`${t(made.length === 1 ? 'rcp.made_one' : 'rcp.made_many', { n: made.length })}${data.dialect ? ` ${t('rcp.dialect', { dialect: data.dialect })}` : ''}`
          + `${missing ? t('rcp.missing', { n: missing }) : ''}`);
        this.load();
      } catch (err) { this.say(t('rcp.no_recipe_from', { name: file.name, why: err.message }), true); }
    }

    async loadHistory() {
      const { h, clear } = LM;
      try {
        const page = await this.api.get('/usage?limit=15');
        clear(this.recent);
        if (!page.items.length) { this.recent.append(h('div', { class: 'lm-muted', text: t('rcp.no_events') })); return; }
        for (const g of page.items) {
          this.recent.append(h('div', { class: 'lm-recipe-event', dataset: { id: String(g.id) } },
            h('span', { class: 'lm-muted', text: `${String(g.started_at || '').slice(0, 16).replace('T', ' ')} ` }),
            h('span', { class: 'lm-recipe-prompt', text: g.prompt || t('rcp.no_prompt') }),
            h('button', { class: 'lm-btn', type: 'button', text: t('res.make_recipe'), onclick: () => this.fromEvent(g.id) })));
        }
      } catch (err) { this.say(t('rcp.events_not_loaded', { why: err.message }), true); }
    }

    async fromEvent(id) {
      try {
        const r = await this.api.post(`/recipes/from-event/${id}`);
        this.say(t('rcp.saved', { title: r.title }));
        this.load();
      } catch (err) { this.say(t('edit.not_saved_toast', { why: err.message }), true); }
    }

    async fromPrompt() {
      const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
      const box = app.querySelector('#txt2img_prompt textarea');
      const neg = app.querySelector('#txt2img_neg_prompt textarea');
      if (!box || !box.value.trim()) { this.say(t('rcp.prompt_empty'), true); return; }
      const text = box.value + (neg && neg.value.trim() ? `\nNegative prompt: ${neg.value}` : '');
      try {
        const r = await this.api.post('/recipes/from-text', { text: text.slice(0, 10000) });
        this.say(t('rcp.saved', { title: r.title }));
        this.load();
      } catch (err) { this.say(t('edit.not_saved_toast', { why: err.message }), true); }
    }

    // The host's tab (txt2img, img2img, control) takes the whole recipe: its prompt box gets the
    // generation parameters and its paste button ("Restore" in SDNext) sets every field from them.
    async send(r, tab = 'txt2img') {
      try {
        const s = await this.api.post(`/recipes/${r.id}/send`);
        const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
        const box = hostBox(tab);
        if (!box) { await this.app.copy(s.infotext); this.say(t('rcp.no_tab', { tab })); return; }
        box.value = s.infotext;
        box.dispatchEvent(new Event('input', { bubbles: true }));
        const paste = app.querySelector(`#${tab}_paste`) || (tab === 'txt2img' ? app.querySelector('#paste') : null);
        if (paste) paste.click();
        const sw = window[`switch_to_${tab}`];
        if (typeof sw === 'function') sw();
        const sent = t('rcp.sent', { tab });
        this.say(s.warnings.length ? `${sent} ${s.warnings.join('; ')}` : sent, s.warnings.length > 0);
      } catch (err) { this.say(t('rcp.not_sent', { why: err.message }), true); }
    }

    async run(r) {
      try {
        const job = await this.api.post(`/recipes/${r.id}/run`);
        this.say(`${t('rcp.queued', { id: job.id })}${job.warnings.length ? `: ${job.warnings.join('; ')}` : ''}`, job.warnings.length > 0);
      } catch (err) { this.say(t('jobs.not_queued', { why: err.message }), true); }
    }

    async copyPrompt(r) {
      try {
        const s = await this.api.post(`/recipes/${r.id}/send`);
        await this.app.copy(s.prompt);
      } catch (err) { this.say(t('rcp.not_copied', { why: err.message }), true); }
    }

    async download(r, format) {
      try {
        const auth = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
        const res = await window.fetch(this.api.url(`/recipes/${r.id}/export?format=${format}`), { credentials: 'same-origin', headers: auth });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const url = URL.createObjectURL(await res.blob());
        const a = LM.h('a', { href: url, download: `recipe-${r.id}.${format}` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (err) { this.say(t('an.export_failed', { why: err.message }), true); }
    }

    async remove(r) {
      if (!window.confirm(t('rcp.confirm_delete', { title: r.title }))) return;
      try { await this.api.del(`/recipes/${r.id}`); this.say(t('rcp.deleted')); this.load(); } catch (err) { this.say(t('trash.failed', { why: err.message }), true); }
    }
  }

  // added when the tab mounts (lora_manager_tab.js)
  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new RecipesPanel(app);
    LM.recipes = panel;
    app.addPanel('recipes', t('rcp.tab'), panel.element, () => panel.load());
    LM.detailActions.push((view, entry, bar) => {
      if (!bar) return;
      bar.append(LM.h('button', { class: 'lm-btn', type: 'button', text: t('rcp.tab'), title: t('rcp.using_hint'), onclick: () => {
        const e = view.current || entry;
        panel.filters = { q: '', tag: '', lora: String(e.id) };
        panel.loraInput.value = e.prompt_name || '';
        app.showPanel('recipes');
      } }));
    });
  });
})();
