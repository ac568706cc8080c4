/* LoRA Manager: the Duplicates panel — files with the same full hash as groups (GET /duplicates), and
 * "Keep this one" (POST /duplicates/resolve): the others of its group go to the trash (restorable) and
 * their user data is merged into the kept one. Paths come from disk: set as text, never as HTML.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.dupesLoaded) return;
  LM.dupesLoaded = true;
  const t = (key, vars) => LM.t(key, vars);
  const SHOWN = 200; // groups drawn at once; the rest behind "Show more"

  class DupesPanel {
    constructor(app) {
      const { h } = LM;
      this.app = app;
      this.api = app.api;
      this.groups = [];
      this.shown = SHOWN;
      this.note = h('div', { class: 'lm-message lm-info', hidden: true });
      this.list = h('div', { class: 'lm-dupes' });
      this.summary = h('span', { class: 'lm-muted' });
      this.element = h('div', { class: 'lm-dupes-panel' },
        h('div', { class: 'lm-toolbar' },
          h('strong', { text: t('dupes.title') }), this.summary,
          h('button', { class: 'lm-btn', type: 'button', text: t('dupes.refresh'), onclick: () => this.load() })),
        h('p', { class: 'lm-muted', text: t('dupes.help') }),
        this.note, this.list);
    }

    say(text, bad) {
      this.note.hidden = !text;
      this.note.className = `lm-message ${bad ? 'lm-error' : 'lm-info'}`;
      this.note.textContent = text || '';
    }

    async load() {
      const seq = (this.seq = (this.seq || 0) + 1);
      this.summary.textContent = t('dupes.loading');
      let groups;
      try { groups = await this.api.get('/duplicates'); } catch (err) {
        if (seq !== this.seq) return;
        this.summary.textContent = '';
        this.say(t('dupes.failed', { why: err.message }), true);
        return;
      }
      if (seq !== this.seq) return;
      this.groups = Array.isArray(groups) ? groups.filter((g) => g && Array.isArray(g.loras) && g.loras.length > 1) : [];
      const files = this.groups.reduce((n, g) => n + g.loras.length, 0);
      this.summary.textContent = this.groups.length
        ? t('dupes.summary', { groups: this.groups.length.toLocaleString(), files: files.toLocaleString() })
        : '';
      this.say(this.groups.length ? '' : t('dupes.none'));
      this.draw();
    }

    draw() {
      const { h, clear } = LM;
      const frag = document.createDocumentFragment();
      for (const g of this.groups.slice(0, this.shown)) {
        frag.append(h('div', { class: 'lm-dupe-group', dataset: { sha256: g.sha256 } },
          h('div', { class: 'lm-muted lm-mono', text: `SHA-256 ${String(g.sha256).slice(0, 16)}…`, title: g.sha256 }),
          h('ul', { class: 'lm-list-plain' }, g.loras.map((m) => h('li', { class: 'lm-dupe', dataset: { id: String(m.id) } },
            h('a', { href: '#', class: 'lm-dupe-path', text: m.path || m.prompt_name || String(m.id), title: t('dupes.open'),
              onclick: (ev) => { ev.preventDefault(); this.app.showPanel('library'); this.app.openDetail(m.id); } }),
            h('button', { class: 'lm-btn lm-keep', type: 'button', text: t('dupes.keep'), onclick: (ev) => this.keep(g, m, ev.target) }))))));
      }
      if (this.groups.length > this.shown) {
        frag.append(h('button', { class: 'lm-btn', type: 'button', text: t('dupes.more', { n: (this.groups.length - this.shown).toLocaleString() }),
          onclick: () => { this.shown += SHOWN; this.draw(); } }));
      }
      clear(this.list).append(frag);
    }

    async keep(group, member, button) {
      const others = group.loras.filter((m) => m.id !== member.id);
      const question = `${t('dupes.confirm')}\n\n${t('dupes.kept')}: ${member.path}\n`
        + others.map((m) => `${t('dupes.trashed')}: ${m.path}`).join('\n');
      if (!window.confirm(question)) return;
      if (button) button.disabled = true;
      try {
        const res = await this.api.post('/duplicates/resolve', { keep: member.id });
        const n = (res && res.trashed ? res.trashed.length : 0);
        this.app.toast(t('dupes.done', { n }), 'info');
        this.groups = this.groups.filter((g) => g !== group);
        this.draw();
        this.load();
        this.app.reload('keep');
      } catch (err) {
        if (button) button.disabled = false;
        this.app.toast(t('dupes.not_done', { why: err.message }), 'error');
      }
    }
  }

  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new DupesPanel(app);
    LM.dupes = panel;
    app.addPanel('duplicates', t('dupes.tab'), panel.element, () => panel.load());
  });
})();
