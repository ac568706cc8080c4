/* LoRA Manager tab: more filters and sorts, and saved filter presets.
 *
 * Several tags at once, each included or excluded (tag= / exclude_tag=), untagged, network type,
 * has or lacks trigger words, NSFW (flagged, or a level to hide above: nsfw_max=), and the sorts of
 * GET /loras (favourites first on request).
 * Presets are named sets of the filters kept in this browser (localStorage). Tag names come from
 * the library: they are set as text, never as HTML.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  const PRESETS_KEY = 'lora-manager-filter-presets';
  const TYPES = ['LoRA', 'LoCon', 'LoHa', 'LoKr', 'DoRA', 'DyLoRA', 'IA3', 'GLoRA', 'OFT', 'BOFT', 'Full'];
  const SORTS = [
    ['name', 'sort.name'], ['-name', 'sort.name_desc'], ['-added', 'sort.added'], ['added', 'sort.added_asc'],
    ['-modified', 'sort.modified'], ['modified', 'sort.modified_asc'], ['-size', 'sort.largest'], ['size', 'sort.smallest'],
    ['-uses', 'sort.uses'], ['-last_used', 'sort.last_used'], ['-rating', 'sort.rating'],
  ];
  // What a preset keeps (the folder is where you are, not a filter to keep).
  const KEPT = ['query', 'base', 'tag', 'show', 'sort', 'tags', 'exclude', 'untagged', 'network_type', 'triggers', 'nsfw',
    'nsfw_max', 'favorites_first'];
  // "Hide above my level": the highest NSFW level shown (Civitai's browsing-level bits; unknown levels stay listed).
  const LEVELS = [['1', 'filters.level_pg'], ['2', 'filters.level_pg13'], ['4', 'filters.level_r'], ['8', 'filters.level_x']];
  const t = (key, vars) => LM.t(key, vars);
  const hooks = (LM.viewHooks = LM.viewHooks || {});
  const on = (name, fn) => (hooks[name] = hooks[name] || []).push(fn);

  function readPresets() {
    try {
      const v = JSON.parse(localStorage.getItem(PRESETS_KEY) || '{}');
      return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
    } catch (err) { return {}; }
  }

  on('library', function addFilters({ list, toolbar }) {
    const { h } = LM.lib;
    const f = this.filters;
    Object.assign(f, { tags: [], exclude: [], untagged: false, network_type: '', triggers: '', nsfw: '', nsfw_max: '', favorites_first: false });
    // The sorts of the API, in place of the toolbar's short list.
    LM.lib.clear(this.sortSel).append(...SORTS.map(([v, k]) => h('option', { value: v, text: t(k) })));
    this.sortSel.value = f.sort;
    const changed = () => { this.renderFilterState(); this.reload('filter'); };
    const sel = (label, options, key) => h('select', { class: 'lm-select', 'aria-label': label, onchange: (e) => { f[key] = e.target.value; changed(); } },
      options.map(([v, t]) => h('option', { value: v, text: t })));
    const btn = (text, fn, title) => h('button', { class: 'lm-btn', type: 'button', text, title, onclick: fn });
    this.favFirst = h('input', { type: 'checkbox', 'aria-label': t('filters.favorites_first'), onchange: (e) => { f.favorites_first = e.target.checked; changed(); } });
    this.filterBtn = h('button', { class: 'lm-btn lm-filterbtn', type: 'button', 'aria-expanded': 'false', onclick: () => this.toggleFilterBar() });
    toolbar.insertBefore(h('label', { class: 'lm-check-label' }, this.favFirst, t('filters.favorites_first')), this.sortSel.nextSibling);
    toolbar.insertBefore(this.filterBtn, this.tagInput.nextSibling); // the toolbar's tag: one more that must match
    this.ftagInput = h('input', { class: 'lm-input lm-ftaginput', list: 'lm-tags', placeholder: t('filters.tag'), 'aria-label': t('filters.tag_input') });
    this.ftagInput.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.addTagFilter(ev.shiftKey ? 'exclude' : 'tags'); });
    this.chips = h('span', { class: 'lm-chips lm-filterchips' });
    this.untaggedBox = h('input', { type: 'checkbox', 'aria-label': t('filters.untagged'), onchange: (e) => { f.untagged = e.target.checked; changed(); } });
    this.typeSel = sel(t('filters.network_type'), [['', t('filters.any_type')], ...TYPES.map((t) => [t, t])], 'network_type');
    this.trigSel = sel(t('filters.triggers'), [['', t('filters.any_triggers')],
      ['has', t('filters.has_triggers')], ['lacks', t('filters.lacks_triggers')]], 'triggers');
    this.nsfwSel = sel(t('filters.nsfw'), [['', t('filters.nsfw_any')], ['true', t('filters.nsfw_only')],
      ['false', t('filters.nsfw_hide')]], 'nsfw');
    this.levelSel = sel(t('filters.nsfw_level'), [['', t('filters.level_any')], ...LEVELS.map(([v, k]) => [v, t(k)])], 'nsfw_max');
    this.presetSel = h('select', { class: 'lm-select', 'aria-label': t('filters.presets'), onchange: (e) => { if (e.target.value) this.applyPreset(e.target.value); } });
    this.presetName = h('input', { class: 'lm-input lm-presetname', placeholder: t('filters.preset_name'), 'aria-label': t('filters.preset_name') });
    this.presetName.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.savePreset(); });
    this.filterBar = h('div', { class: 'lm-filterbar', hidden: true },
      h('span', { class: 'lm-filtergroup' }, this.ftagInput,
        btn(t('filters.include'), () => this.addTagFilter('tags'), t('filters.include_title')),
        btn(t('filters.exclude'), () => this.addTagFilter('exclude'), t('filters.exclude_title')),
        this.chips),
      h('label', { class: 'lm-check-label' }, this.untaggedBox, t('filters.untagged_only')),
      this.typeSel, this.trigSel, this.nsfwSel, this.levelSel,
      h('span', { class: 'lm-filtergroup' }, this.presetSel, this.presetName,
        btn(t('filters.save_preset'), () => this.savePreset()),
        btn(t('filters.delete_preset'), () => this.deletePreset()),
        btn(t('filters.clear'), () => this.clearFilters())));
    list.insertBefore(this.filterBar, toolbar.nextSibling);
    this.renderPresets();
    this.renderFilterState();
  });

  on('params', function filterParams(p) {
    const f = this.filters;
    for (const t of f.tags || []) p.append('tag', t);
    for (const t of f.exclude || []) p.append('exclude_tag', t);
    if (f.untagged) p.set('untagged', 'true');
    if (f.network_type) p.set('network_type', f.network_type);
    if (f.triggers) p.set('has_triggers', f.triggers === 'has' ? 'true' : 'false');
    if (f.nsfw) p.set('nsfw', f.nsfw);
    if (f.nsfw_max) p.set('nsfw_max', f.nsfw_max);
    if (f.favorites_first) p.set('favorites_first', 'true');
  });

  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, clear } = lib;
    return {
      toggleFilterBar(show) {
        const open = show === undefined ? this.filterBar.hidden : show;
        this.filterBar.hidden = !open;
        this.filterBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
        if (open) this.ftagInput.focus();
      },

      // How many of the filter bar's filters are on (shown on its button).
      activeFilters() {
        const f = this.filters;
        return f.tags.length + f.exclude.length + (f.untagged ? 1 : 0) + (f.network_type ? 1 : 0) + (f.triggers ? 1 : 0) + (f.nsfw ? 1 : 0)
          + (f.nsfw_max ? 1 : 0);
      },

      renderFilterState() {
        const f = this.filters;
        const n = this.activeFilters();
        this.filterBtn.textContent = n ? t('filters.button_n', { n }) : t('filters.button');
        this.filterBtn.classList.toggle('lm-on', n > 0);
        const chip = (tag, kind) => h('span', { class: `lm-chip lm-chip-${kind === 'tags' ? 'in' : 'out'}`, dataset: { tag } },
          h('button', { class: 'lm-chip-flip', type: 'button', title: kind === 'tags' ? t('filters.flip_out') : t('filters.flip_in'),
            text: `${kind === 'tags' ? '+' : '−'} ${tag}`, onclick: () => this.flipTag(tag, kind) }),
          h('button', { class: 'lm-chip-x', type: 'button', 'aria-label': t('filters.remove', { tag }), text: '×', onclick: () => this.removeTag(tag, kind) }));
        clear(this.chips).append(...f.tags.map((t) => chip(t, 'tags')), ...f.exclude.map((t) => chip(t, 'exclude')));
        this.untaggedBox.checked = !!f.untagged;
        this.typeSel.value = f.network_type || '';
        this.trigSel.value = f.triggers || '';
        this.nsfwSel.value = f.nsfw || '';
        this.levelSel.value = f.nsfw_max || '';
        this.favFirst.checked = !!f.favorites_first;
      },

      addTagFilter(kind) {
        const tag = this.ftagInput.value.trim();
        if (!tag) { this.toast(t('filters.type_tag'), 'error'); return; }
        const f = this.filters;
        const other = kind === 'tags' ? 'exclude' : 'tags';
        f[other] = f[other].filter((t) => t.toLowerCase() !== tag.toLowerCase());
        if (!f[kind].some((t) => t.toLowerCase() === tag.toLowerCase())) f[kind].push(tag);
        this.ftagInput.value = '';
        this.renderFilterState();
        this.reload('filter');
      },

      flipTag(tag, kind) {
        const f = this.filters;
        const other = kind === 'tags' ? 'exclude' : 'tags';
        f[kind] = f[kind].filter((t) => t !== tag);
        f[other].push(tag);
        this.renderFilterState();
        this.reload('filter');
      },

      removeTag(tag, kind) {
        this.filters[kind] = this.filters[kind].filter((t) => t !== tag);
        this.renderFilterState();
        this.reload('filter');
      },

      clearFilters() {
        Object.assign(this.filters, { tags: [], exclude: [], untagged: false, network_type: '', triggers: '', nsfw: '', nsfw_max: '' });
        this.presetSel.value = '';
        this.renderFilterState();
        this.reload('filter');
      },

      // ----- presets (this browser only) -----
      renderPresets(current) {
        const names = Object.keys(readPresets()).sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' }));
        clear(this.presetSel).append(h('option', { value: '', text: names.length ? t('filters.presets_pick') : t('filters.presets_none') }),
          ...names.map((n) => h('option', { value: n, text: n })));
        this.presetSel.value = current && names.includes(current) ? current : '';
      },

      savePreset() {
        const name = this.presetName.value.trim() || this.presetSel.value;
        if (!name) { this.toast(t('filters.name_preset'), 'error'); return; }
        const f = this.filters;
        const state = {};
        for (const k of KEPT) state[k] = Array.isArray(f[k]) ? [...f[k]] : f[k];
        const all = readPresets();
        all[name] = state;
        try { localStorage.setItem(PRESETS_KEY, JSON.stringify(all)); } catch (err) { this.toast(t('filters.not_saved', { why: err.message }), 'error'); return; }
        this.presetName.value = '';
        this.renderPresets(name);
        this.toast(t('filters.preset_saved', { name }), 'info');
      },

      applyPreset(name) {
        const state = readPresets()[name];
        if (!state || typeof state !== 'object') { this.toast(t('filters.preset_gone'), 'error'); this.renderPresets(); return; }
        const f = this.filters;
        const list = (v) => (Array.isArray(v) ? v.filter((t) => typeof t === 'string') : []);
        const text = (v) => (typeof v === 'string' ? v : '');
        Object.assign(f, { query: text(state.query), base: text(state.base), tag: text(state.tag), show: text(state.show), tags: list(state.tags),
          exclude: list(state.exclude), untagged: !!state.untagged, network_type: text(state.network_type), triggers: text(state.triggers),
          nsfw: text(state.nsfw), nsfw_max: LEVELS.some(([v]) => v === state.nsfw_max) ? state.nsfw_max : '',
          favorites_first: !!state.favorites_first });
        if (SORTS.some(([v]) => v === state.sort)) f.sort = state.sort;
        this.search.value = f.query;
        this.baseSel.value = f.base;
        this.tagInput.value = f.tag;
        this.showSel.value = f.show;
        this.sortSel.value = f.sort;
        this.renderFilterState();
        this.reload('filter');
      },

      deletePreset() {
        const name = this.presetSel.value;
        if (!name) { this.toast(t('filters.pick_preset'), 'error'); return; }
        const all = readPresets();
        delete all[name];
        localStorage.setItem(PRESETS_KEY, JSON.stringify(all));
        this.renderPresets();
        this.toast(t('filters.preset_deleted', { name }), 'info');
      },
    };
  });
})();
