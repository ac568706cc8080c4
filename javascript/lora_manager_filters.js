/* LoRA Manager tab: more filters and sorts, and saved filter presets.
 *
 * Several tags at once, each included or excluded (tag= / exclude_tag=), untagged, network type,
 * has or lacks trigger words, NSFW, and the sorts of GET /loras (favourites first on request).
 * Presets are named sets of the filters kept in this browser (localStorage). Tag names come from
 * the library: they are set as text, never as HTML.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  const PRESETS_KEY = 'lora-manager-filter-presets';
  const TYPES = ['LoRA', 'LoCon', 'LoHa', 'LoKr', 'DoRA', 'DyLoRA', 'IA3', 'GLoRA', 'OFT', 'BOFT', 'Full'];
  const SORTS = [
    ['name', 'sort.name', 'Title A–Z'], ['-name', 'sort.name_desc', 'Title Z–A'],
    ['-added', 'sort.added', 'Recently added'], ['added', 'sort.added_asc', 'Oldest added'],
    ['-modified', 'sort.modified', 'Newest file'], ['modified', 'sort.modified_asc', 'Oldest file'],
    ['-size', 'sort.size', 'Largest'], ['size', 'sort.size_asc', 'Smallest'],
    ['-uses', 'sort.uses', 'Most used'], ['-last_used', 'sort.last_used', 'Recently used'],
    ['-rating', 'sort.rating', 'Best rated'],
  ];
  // What a preset keeps (the folder is where you are, not a filter to keep).
  const KEPT = ['query', 'base', 'tag', 'show', 'sort', 'tags', 'exclude', 'untagged', 'network_type', 'triggers', 'nsfw',
    'favorites_first'];
  const tr = (key, en) => { const v = LM.t ? LM.t(key) : null; return v && v !== key ? v : en; };
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
    Object.assign(f, { tags: [], exclude: [], untagged: false, network_type: '', triggers: '', nsfw: '', favorites_first: false });
    // The sorts of the API, in place of the toolbar's short list.
    LM.lib.clear(this.sortSel).append(...SORTS.map(([v, k, en]) => h('option', { value: v, text: tr(k, en) })));
    this.sortSel.value = f.sort;
    const changed = () => { this.renderFilterState(); this.reload('filter'); };
    const sel = (label, options, key) => h('select', { class: 'lm-select', 'aria-label': label, onchange: (e) => { f[key] = e.target.value; changed(); } },
      options.map(([v, t]) => h('option', { value: v, text: t })));
    const btn = (text, fn, title) => h('button', { class: 'lm-btn', type: 'button', text, title, onclick: fn });
    this.favFirst = h('input', { type: 'checkbox', 'aria-label': tr('filters.favorites_first', 'favorites first'), onchange: (e) => { f.favorites_first = e.target.checked; changed(); } });
    this.filterBtn = h('button', { class: 'lm-btn lm-filterbtn', type: 'button', 'aria-expanded': 'false', onclick: () => this.toggleFilterBar() });
    toolbar.insertBefore(h('label', { class: 'lm-check-label' }, this.favFirst, tr('filters.favorites_first', 'favorites first')), this.sortSel.nextSibling);
    toolbar.insertBefore(this.filterBtn, this.tagInput.nextSibling); // the toolbar's tag: one more that must match
    this.ftagInput = h('input', { class: 'lm-input lm-ftaginput', list: 'lm-tags', placeholder: tr('filters.tag', 'tag'), 'aria-label': tr('filters.tag_input', 'filter tag') });
    this.ftagInput.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.addTagFilter(ev.shiftKey ? 'exclude' : 'tags'); });
    this.chips = h('span', { class: 'lm-chips lm-filterchips' });
    this.untaggedBox = h('input', { type: 'checkbox', 'aria-label': tr('filters.untagged', 'untagged'), onchange: (e) => { f.untagged = e.target.checked; changed(); } });
    this.typeSel = sel(tr('filters.network_type', 'network type'), [['', tr('filters.any_type', 'Any type')], ...TYPES.map((t) => [t, t])], 'network_type');
    this.trigSel = sel(tr('filters.triggers', 'trigger words'), [['', tr('filters.any_triggers', 'Trigger words: any')],
      ['has', tr('filters.has_triggers', 'With trigger words')], ['lacks', tr('filters.lacks_triggers', 'Without trigger words')]], 'triggers');
    this.nsfwSel = sel(tr('filters.nsfw', 'NSFW'), [['', tr('filters.nsfw_any', 'NSFW: any')], ['true', tr('filters.nsfw_only', 'NSFW only')],
      ['false', tr('filters.nsfw_hide', 'Hide NSFW')]], 'nsfw');
    this.presetSel = h('select', { class: 'lm-select', 'aria-label': tr('filters.presets', 'filter presets'), onchange: (e) => { if (e.target.value) this.applyPreset(e.target.value); } });
    this.presetName = h('input', { class: 'lm-input lm-presetname', placeholder: tr('filters.preset_name', 'preset name'), 'aria-label': tr('filters.preset_name', 'preset name') });
    this.presetName.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.savePreset(); });
    this.filterBar = h('div', { class: 'lm-filterbar', hidden: true },
      h('span', { class: 'lm-filtergroup' }, this.ftagInput,
        btn(tr('filters.include', 'Include'), () => this.addTagFilter('tags'), tr('filters.include_title', 'only LoRAs with this tag (Enter)')),
        btn(tr('filters.exclude', 'Exclude'), () => this.addTagFilter('exclude'), tr('filters.exclude_title', 'no LoRAs with this tag (Shift+Enter)')),
        this.chips),
      h('label', { class: 'lm-check-label' }, this.untaggedBox, tr('filters.untagged_only', 'Untagged only')),
      this.typeSel, this.trigSel, this.nsfwSel,
      h('span', { class: 'lm-filtergroup' }, this.presetSel, this.presetName,
        btn(tr('filters.save_preset', 'Save preset'), () => this.savePreset()),
        btn(tr('filters.delete_preset', 'Delete preset'), () => this.deletePreset()),
        btn(tr('filters.clear', 'Clear filters'), () => this.clearFilters())));
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
        return f.tags.length + f.exclude.length + (f.untagged ? 1 : 0) + (f.network_type ? 1 : 0) + (f.triggers ? 1 : 0) + (f.nsfw ? 1 : 0);
      },

      renderFilterState() {
        const f = this.filters;
        const n = this.activeFilters();
        this.filterBtn.textContent = n ? `${tr('filters.button', 'Filters')} (${n})` : tr('filters.button', 'Filters');
        this.filterBtn.classList.toggle('lm-on', n > 0);
        const chip = (tag, kind) => h('span', { class: `lm-chip lm-chip-${kind === 'tags' ? 'in' : 'out'}`, dataset: { tag } },
          h('button', { class: 'lm-chip-flip', type: 'button', title: kind === 'tags' ? tr('filters.flip_out', 'included: click to exclude') : tr('filters.flip_in', 'excluded: click to include'),
            text: `${kind === 'tags' ? '+' : '−'} ${tag}`, onclick: () => this.flipTag(tag, kind) }),
          h('button', { class: 'lm-chip-x', type: 'button', 'aria-label': `${tr('filters.remove', 'remove')} ${tag}`, text: '×', onclick: () => this.removeTag(tag, kind) }));
        clear(this.chips).append(...f.tags.map((t) => chip(t, 'tags')), ...f.exclude.map((t) => chip(t, 'exclude')));
        this.untaggedBox.checked = !!f.untagged;
        this.typeSel.value = f.network_type || '';
        this.trigSel.value = f.triggers || '';
        this.nsfwSel.value = f.nsfw || '';
        this.favFirst.checked = !!f.favorites_first;
      },

      addTagFilter(kind) {
        const tag = this.ftagInput.value.trim();
        if (!tag) { this.toast(tr('filters.type_tag', 'Type a tag first'), 'error'); return; }
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
        Object.assign(this.filters, { tags: [], exclude: [], untagged: false, network_type: '', triggers: '', nsfw: '' });
        this.presetSel.value = '';
        this.renderFilterState();
        this.reload('filter');
      },

      // ----- presets (this browser only) -----
      renderPresets(current) {
        const names = Object.keys(readPresets()).sort((a, b) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' }));
        clear(this.presetSel).append(h('option', { value: '', text: names.length ? tr('filters.presets_pick', 'Presets…') : tr('filters.presets_none', 'No presets') }),
          ...names.map((n) => h('option', { value: n, text: n })));
        this.presetSel.value = current && names.includes(current) ? current : '';
      },

      savePreset() {
        const name = this.presetName.value.trim() || this.presetSel.value;
        if (!name) { this.toast(tr('filters.name_preset', 'Name the preset first'), 'error'); return; }
        const f = this.filters;
        const state = {};
        for (const k of KEPT) state[k] = Array.isArray(f[k]) ? [...f[k]] : f[k];
        const all = readPresets();
        all[name] = state;
        try { localStorage.setItem(PRESETS_KEY, JSON.stringify(all)); } catch (err) { this.toast(`${tr('filters.not_saved', 'Not saved')}: ${err.message}`, 'error'); return; }
        this.presetName.value = '';
        this.renderPresets(name);
        this.toast(`${tr('filters.preset_saved', 'Preset saved')}: ${name}`, 'info');
      },

      applyPreset(name) {
        const state = readPresets()[name];
        if (!state || typeof state !== 'object') { this.toast(tr('filters.preset_gone', 'That preset is gone'), 'error'); this.renderPresets(); return; }
        const f = this.filters;
        const list = (v) => (Array.isArray(v) ? v.filter((t) => typeof t === 'string') : []);
        const text = (v) => (typeof v === 'string' ? v : '');
        Object.assign(f, { query: text(state.query), base: text(state.base), tag: text(state.tag), show: text(state.show), tags: list(state.tags),
          exclude: list(state.exclude), untagged: !!state.untagged, network_type: text(state.network_type), triggers: text(state.triggers),
          nsfw: text(state.nsfw), favorites_first: !!state.favorites_first });
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
        if (!name) { this.toast(tr('filters.pick_preset', 'Pick a preset first'), 'error'); return; }
        const all = readPresets();
        delete all[name];
        localStorage.setItem(PRESETS_KEY, JSON.stringify(all));
        this.renderPresets();
        this.toast(`${tr('filters.preset_deleted', 'Preset deleted')}: ${name}`, 'info');
      },
    };
  });
})();
