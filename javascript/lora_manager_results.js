/* LoRA Manager: the Results panel — the gallery of job outputs kept on disk, with their parameters,
 * "set as preview" (written beside the LoRA), delete, cleanup, and "generate missing previews".
 * Text from results and the library is set as text, never parsed as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.resultsLoaded) return;
  LM.resultsLoaded = true;
  const t = (key, vars) => LM.t(key, vars);

  // An image file sent as the raw body of POST /generation/init-images: its id for init_image / control_image.
  LM.uploadImage = async (api, file) => {
    const auth = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
    const res = await window.fetch(api.url('/generation/init-images'), {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: { ...auth, Accept: 'application/json', 'Content-Type': file.type || 'application/octet-stream' },
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
    return data;
  };

  const PARAMS = ['kind', 'steps', 'width', 'height', 'cfg_scale', 'denoising_strength', 'control_model'];

  class ResultsPanel {
    constructor(app) {
      this.app = app;
      this.api = app.api;
      const { h } = LM;
      const btn = (text, fn, cls) => h('button', { class: `lm-btn${cls ? ` ${cls}` : ''}`, type: 'button', text, onclick: fn });
      this.replace = h('input', { type: 'checkbox', 'aria-label': t('res.replace') });
      this.note = h('div', { class: 'lm-message lm-info', hidden: true });
      this.gallery = h('div', { class: 'lm-results' });
      this.element = h('div', { class: 'lm-results-panel' },
        h('div', { class: 'lm-actions' },
          btn(t('res.generate_missing'), () => this.generate(null)),
          h('label', { class: 'lm-inline' }, this.replace, ` ${t('res.replace')}`),
          btn(t('an.refresh'), () => this.refresh()),
          btn(t('res.cleanup'), () => this.cleanup())),
        this.note, this.gallery);
    }

    say(text, bad) {
      this.note.hidden = false;
      this.note.className = `lm-message ${bad ? 'lm-error' : 'lm-info'}`;
      this.note.textContent = text;
    }

    // `say`: where the answer is told (this panel's message; the detail's button passes the view's toast,
    // since this panel is hidden behind the library then).
    async generate(keys, say = (text, bad) => this.say(text, bad)) {
      const body = { replace: this.replace.checked };
      if (keys) body.loras = keys;
      try {
        const r = await this.api.post('/generation/previews', body);
        const why = r.skipped.slice(0, 5).map((s) => `${s.lora}: ${s.reason}`).join('; ');
        say(`${t('res.previews_queued', { n: r.queued.length, skipped: r.skipped.length })}${why ? ` (${why})` : ''}`, false);
      } catch (err) {
        say(err.code === 'no_host' ? t('res.no_host') : t('jobs.not_queued', { why: err.message }), true);
      }
    }

    async cleanup() {
      try {
        const r = await this.api.post('/results/cleanup', {});
        this.say(t('res.cleaned', { n: r.deleted, kept: r.kept_in_use }));
      } catch (err) { this.say(t('res.cleanup_failed', { why: err.message }), true); }
      this.refresh();
    }

    async refresh() {
      let page = { items: [] };
      try { page = await this.api.get('/results?limit=100'); } catch (err) { this.say(t('res.unavailable', { why: err.message }), true); }
      this.render(page.items || []);
    }

    render(items) {
      const { h, clear } = LM;
      clear(this.gallery);
      if (!items.length) { this.gallery.append(h('div', { class: 'lm-muted', text: t('res.none') })); return; }
      for (const r of items) this.gallery.append(this.card(r));
    }

    card(r) {
      const { h } = LM;
      const id = encodeURIComponent(r.id);
      const loras = (r.params && r.params.loras) || [];
      const pick = h('select', { class: 'lm-input', 'aria-label': t('res.lora_for', { id: r.id }) },
        loras.map((l) => h('option', { value: String(l.name), text: String(l.name) })));
      const params = PARAMS.filter((k) => r.params && r.params[k] != null).map((k) => `${k} ${r.params[k]}`).join(' · ');
      const images = [];
      for (let i = 0; i < r.images; i++) images.push(LM.authImage(this.api.url(`/results/${id}/images/${i}`), 'lm-preview'));
      return h('div', { class: `lm-result lm-result-${r.kind}`, dataset: { id: r.id } },
        h('div', { class: 'lm-previews' }, images),
        h('div', { class: 'lm-jobprompt', text: r.prompt || '', title: r.prompt || '' }),
        h('div', { class: 'lm-muted', text: `${params}${r.seed != null ? ` · ${t('res.seed', { seed: r.seed })}` : ''}` }),
        (r.used_as_preview || []).length ? h('div', { class: 'lm-muted', text: t('res.preview_of', { n: r.used_as_preview.length }) }) : null,
        h('div', { class: 'lm-actions' },
          loras.length ? pick : null,
          loras.length ? h('button', { class: 'lm-btn', type: 'button', text: t('res.set_preview'), onclick: () => this.setPreview(r, pick.value) }) : null,
          h('button', { class: 'lm-btn', type: 'button', text: t('res.make_recipe'), title: t('res.make_recipe_hint'), onclick: () => this.makeRecipe(r) }),
          h('button', { class: 'lm-btn lm-danger', type: 'button', text: t('act.delete'), onclick: () => this.remove(r) })));
    }

    // The job's generation parameters (its infotext, else its prompt with the <lora:...> tags) as a recipe,
    // its first image as the cover (the server reads it from the results folder by the result's id).
    async makeRecipe(r) {
      const text = (r.infotexts && r.infotexts[0]) || r.prompt || '';
      const body = { text, title: (r.prompt || t('res.job_result')).slice(0, 80) };
      if (r.images > 0) body.result = { id: r.id, image: 0 };
      try {
        const recipe = await this.api.post('/recipes/from-text', body);
        this.say(t('res.recipe_saved', { title: recipe.title || recipe.id }));
        if (LM.recipes && typeof LM.recipes.load === 'function') LM.recipes.load();
      } catch (err) { this.say(t('res.no_recipe', { why: err.message }), true); }
    }

    async setPreview(r, lora) {
      try {
        const res = await this.api.post(`/results/${encodeURIComponent(r.id)}/images/0/preview`, { lora, replace: this.replace.checked });
        this.say(res.written ? t('res.preview_written', { lora: res.lora, file: res.written }) : `${res.lora}: ${res.kept}`, !res.written);
      } catch (err) { this.say(t('res.not_set', { why: err.message }), true); }
      this.refresh();
    }

    async remove(r) {
      try {
        await this.api.del(`/results/${encodeURIComponent(r.id)}`);
        this.say(t('res.deleted'));
      } catch (err) { this.say(t('trash.failed', { why: err.message }), true); }
      this.refresh();
    }
  }

  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new ResultsPanel(app);
    LM.results = panel;
    app.addPanel('results', t('res.tab'), panel.element, () => panel.refresh());
    LM.detailActions.push((view, entry, bar) => {
      if (!bar || entry.state !== 'ok' || (LM.jobs && LM.jobs.available === false)) return; // no pipeline here
      bar.append(LM.h('button', { class: 'lm-btn', type: 'button', text: t('res.generate_one'), title: t('res.generate_one_hint'), onclick: () => panel.generate([String(entry.id)], (text, bad) => view.toast(text, bad ? 'error' : 'success')) }));
    });
  });
})();
