/* LoRA Manager: the Organize panel — move LoRAs into folders by a template ({base}/{type}, ...) with
 * POST /organize: first a dry run listing every move and every file left where it is (and why), then
 * "Apply" moves exactly those files (their sidecars, previews and user data follow).
 * Paths come from disk and metadata: set as text, never as HTML.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.organizeLoaded) return;
  LM.organizeLoaded = true;
  const t = (key, vars) => LM.t(key, vars);
  const TEMPLATES = ['{base}/{type}', '{base}/{creator}', '{base}/{first_tag}', '{creator}/{model_name}', '{base_label}'];
  const PLACEHOLDERS = '{base} {base_label} {type} {creator} {model_name} {first_tag}';
  const SHOWN = 500; // rows drawn; the counts tell the rest

  class OrganizePanel {
    constructor(app) {
      const { h } = LM;
      this.app = app;
      this.api = app.api;
      this.plan = null;
      this.template = h('input', { class: 'lm-input lm-template', list: 'lm-templates', value: TEMPLATES[0], 'aria-label': t('organize.template') });
      this.template.addEventListener('input', () => this.forget());
      this.template.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.preview(); });
      this.scopeSel = h('select', { class: 'lm-select', 'aria-label': t('organize.scope'), onchange: () => this.forget() });
      this.previewBtn = h('button', { class: 'lm-btn', type: 'button', text: t('organize.preview'), onclick: () => this.preview() });
      this.applyBtn = h('button', { class: 'lm-btn lm-danger', type: 'button', text: t('organize.apply'), disabled: true, onclick: () => this.apply() });
      this.note = h('div', { class: 'lm-message lm-info', hidden: true });
      this.moves = h('tbody');
      this.skipped = h('ul', { class: 'lm-list-plain lm-skipped' });
      this.element = h('div', { class: 'lm-organize-panel' },
        h('h4', { text: t('organize.title') }),
        h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: t('organize.template_label') }), this.template,
          h('datalist', { id: 'lm-templates' }, TEMPLATES.map((t) => h('option', { value: t })))),
        h('div', { class: 'lm-muted', text: `${t('organize.placeholders')}: ${PLACEHOLDERS}` }),
        h('div', { class: 'lm-actions' }, this.scopeSel, this.previewBtn, this.applyBtn),
        this.note,
        h('table', { class: 'lm-kv lm-moves' }, h('thead', {}, h('tr', {}, h('th', { text: t('organize.from') }), h('th', { text: t('organize.to') }))), this.moves),
        this.skipped);
    }

    onShow() {
      const { h, clear } = LM;
      const n = this.app.selected.size;
      const was = this.scopeSel.value;
      LM.append(clear(this.scopeSel), h('option', { value: 'all', text: t('organize.all') }),
        n ? h('option', { value: 'selected', text: `${t('organize.selected')} (${n})` }) : null);
      this.scopeSel.value = was === 'selected' && n ? 'selected' : 'all';
    }

    say(text, bad) {
      this.note.hidden = !text;
      this.note.className = `lm-message ${bad ? 'lm-error' : 'lm-info'}`;
      this.note.textContent = text || '';
    }

    // Anything changed since the dry run: it no longer tells what Apply would do.
    forget() {
      this.plan = null;
      this.applyBtn.disabled = true;
      this.applyBtn.textContent = t('organize.apply');
    }

    body(dryRun) {
      const keys = this.scopeSel.value === 'selected' ? [...this.app.selected] : null;
      return { template: this.template.value.trim(), keys, dry_run: dryRun };
    }

    async preview() {
      const body = this.body(true);
      if (!body.template) { this.say(t('organize.need_template'), true); return; }
      this.forget();
      this.previewBtn.disabled = true;
      this.say(t('organize.planning'));
      try {
        const plan = await this.api.post('/organize', body);
        this.show(plan);
        const moves = plan.moves || [];
        if (moves.length) {
          // Apply moves exactly the files of this plan.
          this.plan = { ...body, keys: moves.map((m) => m.id), dry_run: false };
          this.applyBtn.disabled = false;
          this.applyBtn.textContent = `${t('organize.apply')} (${moves.length.toLocaleString()})`;
        }
      } catch (err) {
        this.say(t('organize.no_plan', { why: err.message }), true);
      } finally { this.previewBtn.disabled = false; }
    }

    show(plan) {
      const { h, clear } = LM;
      const moves = plan.moves || [];
      const skipped = plan.skipped || [];
      this.say(t('organize.summary', { n: moves.length.toLocaleString(), staying: skipped.length.toLocaleString() })
        + (moves.length > SHOWN ? ` ${t('organize.listed', { n: SHOWN })}` : ''));
      clear(this.moves).append(...moves.slice(0, SHOWN).map((m) => h('tr', { class: 'lm-move', dataset: { id: String(m.id) } },
        h('td', { class: 'lm-mono', text: m.from ?? m.from_ }), h('td', { class: 'lm-mono', text: m.to }))));
      clear(this.skipped).append(...skipped.slice(0, SHOWN).map((s) => h('li', { class: 'lm-muted', dataset: { id: String(s.id) },
        text: `#${s.id}: ${s.reason}` })));
    }

    async apply() {
      if (!this.plan) return;
      const n = this.plan.keys.length;
      if (!window.confirm(`${t('organize.confirm')} (${n})`)) return;
      const plan = this.plan;
      this.forget();
      this.previewBtn.disabled = true;
      this.say(t('organize.moving'));
      try {
        const res = await this.api.post('/organize', plan);
        const left = (res.skipped || []).length;
        this.show({ moves: [], skipped: res.skipped || [] });
        this.say(`${t('organize.moved', { n: res.moved })}${left ? `, ${t('organize.not_moved', { n: left })}` : ''}`, left > 0);
        this.app.toast(t('organize.moved', { n: res.moved }), 'info');
        this.app.reload('keep');
      } catch (err) {
        this.say(t('organize.failed', { why: err.message }), true);
      } finally { this.previewBtn.disabled = false; }
    }
  }

  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new OrganizePanel(app);
    LM.organize = panel;
    app.addPanel('organize', t('organize.tab'), panel.element, () => panel.onShow());
  });
})();
