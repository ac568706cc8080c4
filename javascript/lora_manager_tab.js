/* LoRA Manager: the tab's library view (grid, table, detail, bulk actions, status line).
 *
 * Loaded by the host (SDNext/A1111 add every javascript/*.js to their page) and by the
 * standalone page. Everything shown from the library is set as text (textContent) or as
 * attribute values through the DOM, never parsed as HTML: names, titles and metadata
 * come from files off the internet.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.tabLoaded) return;
  LM.tabLoaded = true;
  // Timings read by the browser tests and bench/bench_tab.py: firstPageMs (mount to first
  // cards), firstPageAt (navigation start to first cards), lastSearchMs (keystroke to results).
  LM.metrics = LM.metrics || { firstPageMs: null, firstPageAt: null, lastSearchMs: null, searches: [] };

  // The server's vocabulary (GET /meta; the mount point carries it as data-meta): the base-model
  // families with their labels, and the fields a card or row shows. Filled in place by applyMeta.
  const FAMILIES = [];
  const FAMILY_LABELS = {};
  const CARD_FIELDS = [];
  const CHUNK = 120;
  const VIEWS = {
    grid: { rowHeight: 252, minWidth: 172 },
    table: { rowHeight: 34, minWidth: 0 },
  };
  const KEY_STORE = 'lora-manager-api-key';

  // ---------- small DOM helpers (text only: never innerHTML of data) ----------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on')) { if (typeof v === 'function') el.addEventListener(k.slice(2), v); } // never an inline handler
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  function append(el, ...children) {
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  }

  function fmtSize(n) {
    if (!n && n !== 0) return '';
    const u = ['B', 'KB', 'MB', 'GB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
  }

  // The interface text (lora_manager_i18n.js, loaded before this file; looked up at each call).
  const t = (key, vars) => (typeof LM.t === 'function' ? LM.t(key, vars) : key);

  // Dates in the reader's language (never a raw ISO string): file times in ns, moments as ISO strings.
  function fmtDate(value, withTime) { return LM.i18n ? LM.i18n.date(value, withTime) : ''; }

  // The name a card shows: the user's display name, else the title, else the file's name (the server's
  // shown_name when it sends one).
  function shownName(e) { return e.shown_name || e.display_name || e.title || e.name || ''; }

  function stateText(s) { const v = t(`state.${s}`); return v === `state.${s}` ? s : v; }

  function familyLabel(f) { return f ? (FAMILY_LABELS[f] || f) : t('common.unknown'); }

  function applyMeta(meta) {
    const families = meta && Array.isArray(meta.families) ? meta.families : [];
    FAMILIES.splice(0, FAMILIES.length, ...families.map((f) => String(f.id)));
    for (const f of families) FAMILY_LABELS[f.id] = String(f.label || f.id);
    const card = meta && meta.fields && Array.isArray(meta.fields.card) ? meta.fields.card : [];
    CARD_FIELDS.splice(0, CARD_FIELDS.length, ...card.map(String)); // none: the server's default list fields
  }

  function readMeta(root) {
    try { return root.dataset.meta ? JSON.parse(root.dataset.meta) : null; } catch (err) { return null; }
  }

  function badge(family) {
    return h('span', { class: `lm-badge lm-fam-${/^[a-z0-9]+$/.test(family || '') ? family : 'unknown'}`, text: familyLabel(family) });
  }

  function loraTag(entry, withTriggers) {
    const w = entry.preferred_weight ?? 1;
    const weight = Number.isFinite(Number(w)) ? Number(w) : 1;
    let text = `<lora:${entry.prompt_name}:${+weight.toFixed(2)}>`;
    if (withTriggers && entry.triggers && entry.triggers.length) text += `, ${entry.triggers.join(', ')}`;
    return text;
  }
  LM.loraTag = loraTag;

  // ---------- the API ----------

  class ApiError extends Error {
    constructor(status, code, message, details) { super(message); this.status = status; this.code = code; this.details = details || {}; }
  }

  function makeApi(base) {
    // SDNext sets window.subpath only once its options arrive: read it on every request.
    const prefixNow = () => (window.subpath || '') + base;
    async function request(method, path, body, retried) {
      const auth = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
      const headers = { Accept: 'application/json', ...auth };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const options = { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) };
      let res;
      try {
        res = await window.fetch(prefixNow() + path, options);
      } catch (err) {
        throw new ApiError(0, 'network', t('api.no_answer', { why: err && err.message ? err.message : err }));
      }
      if (!res) throw new ApiError(0, 'network', t('api.no_answer', { why: '-' }));
      if (res.status === 401 && !retried && typeof LM.resetAuth === 'function') {
        LM.resetAuth(); // a new sign-in, or a token read before the host was ready
        return request(method, path, body, true);
      }
      let data = null;
      if (res.status !== 204) data = await res.json().catch(() => null);
      if (!res.ok) {
        const e = (data && data.error) || {};
        throw new ApiError(res.status, e.code || String(res.status), e.message || (data && data.detail) || res.statusText, e.details);
      }
      return data;
    }
    return {
      get prefix() { return prefixNow(); },
      get: (p) => request('GET', p),
      post: (p, b) => request('POST', p, b === undefined ? {} : b),
      patch: (p, b) => request('PATCH', p, b),
      del: (p) => request('DELETE', p),
      url: (p) => prefixNow() + p,
    };
  }

  // A LoRA's preview (or embedded cover) as an image, or a video for .mp4/.webm previews.
  function previewImage(api, entry, cls, index = 0) {
    const hasPreview = entry.previews && entry.previews.length > index;
    if (!hasPreview && !entry.cover) return h('div', { class: `${cls} lm-noimg`, text: t('card.no_preview') });
    const first = hasPreview ? entry.previews[index] : null;
    const path = hasPreview ? `/loras/${entry.id}/previews/${index}` : `/loras/${entry.id}/cover`;
    const media = first && /\.(mp4|webm)$/i.test(first.name || '')
      ? h('video', { class: cls, src: api.url(path), muted: true, loop: true, preload: 'none', playsinline: true })
      : authImage(api.url(path), cls);
    return nsfwBlurred(media, entry);
  }

  // A preview rated above the user's level (lora_manager_civitai_facts.js) is blurred; a click shows it.
  function nsfwBlurred(media, entry) {
    const why = typeof LM.nsfwBlur === 'function' ? LM.nsfwBlur(entry) : null;
    if (!why) return media;
    media.classList.add('lm-nsfw');
    media.title = why;
    media.addEventListener('click', (ev) => {
      if (!media.classList.contains('lm-nsfw')) return;
      ev.stopPropagation();
      ev.preventDefault();
      LM.nsfwRevealed.add(entry.id);
      media.classList.remove('lm-nsfw');
      media.title = '';
    }, true);
    return media;
  }

  // Images from our API, retried with the host's credentials where it guards them (auth.js).
  function authImage(url, cls) {
    const cached = typeof LM.cachedImage === 'function' ? LM.cachedImage(url) : undefined;
    const img = h('img', { class: cls, src: cached || url, loading: 'lazy', decoding: 'async', alt: '' });
    img.addEventListener('error', async () => {
      const again = !img.dataset.retried && typeof LM.retryImage === 'function';
      img.dataset.retried = '1';
      if (!again || !(await LM.retryImage(img, url))) img.classList.add('lm-broken-img');
    });
    return img;
  }
  LM.authImage = authImage;

  // ---------- the app ----------

  function mount(root) {
    if (root.dataset.mounted) return;
    root.dataset.mounted = '1';
    const api = makeApi(root.dataset.api || '/lora-manager/v1');
    const meta = readMeta(root);
    if (meta) startView(root, api, meta);
    else api.get('/meta').then((m) => startView(root, api, m), () => startView(root, api, null));
  }

  function startView(root, api, meta) {
    applyMeta(meta);
    const hostMode = root.dataset.mode === 'host';
    if (LM.i18n) root.lang = LM.i18n.detect(hostMode);
    // The view's methods live in several files (grid, detail, bulk, status), loaded in any
    // order before the page is ready: each queued its part on LM.viewParts.
    for (const part of LM.viewParts || []) Object.assign(LibraryView.prototype, part(LM.lib));
    LM.viewParts = { push: (part) => Object.assign(LibraryView.prototype, part(LM.lib)) };
    const app = new LibraryView(root, api, hostMode);
    app.meta = meta || {};
    LM.app = app;
    app.start();
  }
  LM.mount = mount;

  class LibraryView {
    constructor(root, api, hostMode) {
      this.root = root;
      this.api = api;
      this.hostMode = hostMode;
      this.filters = { query: '', base: '', tag: '', show: '', sort: 'name' };
      this.view = localStorage.getItem('lora-manager-view') === 'table' ? 'table' : 'grid';
      this.total = 0;
      this.chunks = new Map(); // chunk index -> items[] | Promise
      this.cursors = new Map();
      this.failedAt = new Map(); // chunk index -> when its fetch last failed
      this.loadError = null;
      this.gen = 0;
      this.selected = new Set();
      this.current = null; // detail entry
      this.scanWasRunning = false;
      this.panels = new Map();
    }

    start() {
      clear(this.root);
      this.build();
      if (this.bindKeys) this.bindKeys(); // keyboard, selection and the context menu (lora_manager_tab_keys.js)
      this.reload('first');
      this.loadTags();
      this.pollStatus();
      window.addEventListener('resize', () => this.render());
      // Mounted while the host's tab is hidden (0x0): draw again once it has a size.
      if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.render(true)).observe(this.scroller);
      // Panels (jobs, recommendations, analytics) live in their own files, loaded in any order:
      // each pushes a factory onto LM.panelFactories. Those queued so far are added now; from here
      // on a push adds its panel at once.
      const queued = LM.panelFactories || [];
      LM.panelFactories = { push: (...factories) => factories.forEach((add) => add(this)) };
      LM.panelFactories.push(...queued);
    }

    // ----- layout -----
    build() {
      const r = this.root;
      this.nav = h('div', { class: 'lm-nav', role: 'tablist' });
      this.status = h('div', { class: 'lm-status', 'aria-live': 'polite' });
      this.rescanBtn = h('button', { class: 'lm-btn', type: 'button', text: t('nav.rescan'), title: t('nav.rescan_hint'), onclick: () => this.rescan() });
      const header = h('div', { class: 'lm-header' }, this.nav, h('div', { class: 'lm-statusbar' }, this.status, this.rescanBtn, this.prefControls()));
      this.body = h('div', { class: 'lm-body' });
      r.append(header, this.body);
      this.libraryPanel = this.buildLibrary();
      this.addPanel('library', t('nav.library'), this.libraryPanel);
      this.showPanel('library');
    }

    addPanel(id, title, element, onShow) {
      const btn = h('button', { class: 'lm-tab', type: 'button', role: 'tab', text: title, dataset: { panel: id }, onclick: () => this.showPanel(id) });
      this.nav.append(btn);
      element.classList.add('lm-panel');
      element.dataset.panel = id;
      this.body.append(element);
      this.panels.set(id, { btn, element, onShow });
      if (this.panels.size > 1) element.hidden = true;
    }

    showPanel(id) {
      for (const [pid, p] of this.panels) {
        p.element.hidden = pid !== id;
        p.btn.classList.toggle('lm-active', pid === id);
        p.btn.setAttribute('aria-selected', pid === id ? 'true' : 'false');
      }
      const p = this.panels.get(id);
      if (p && p.onShow) p.onShow();
      if (id === 'library') this.render();
    }

    buildLibrary() {
      const f = this.filters;
      this.search = h('input', { class: 'lm-input lm-search', type: 'search', placeholder: t('filter.search'), 'aria-label': t('filter.search_label') });
      let timer = null;
      this.search.addEventListener('input', () => {
        const started = performance.now();
        clearTimeout(timer);
        timer = setTimeout(() => { f.query = this.search.value.trim(); this.reload('search', started); }, 90);
      });
      this.baseSel = h('select', { class: 'lm-select', 'aria-label': t('filter.base_label'), onchange: (e) => { f.base = e.target.value; this.reload('filter'); } },
        h('option', { value: '', text: t('filter.all_bases') }),
        FAMILIES.map((x) => h('option', { value: x, text: familyLabel(x) })));
      this.tagInput = h('input', { class: 'lm-input lm-taginput', list: 'lm-tags', placeholder: t('filter.tag'), 'aria-label': t('filter.tag_label') });
      this.tagInput.addEventListener('change', () => { f.tag = this.tagInput.value.trim(); this.reload('filter'); });
      this.tagList = h('datalist', { id: 'lm-tags' });
      this.showSel = h('select', { class: 'lm-select', 'aria-label': t('filter.show_label'), onchange: (e) => { f.show = e.target.value; this.reload('filter'); } },
        ['', 'favorite', 'has_preview', 'no_preview', 'duplicate', 'update_available', 'missing', 'broken', 'trashed']
          .map((v) => h('option', { value: v, text: t(`show.${v || 'all'}`) })));
      this.sortSel = h('select', { class: 'lm-select', 'aria-label': t('filter.sort_label'), onchange: (e) => { f.sort = e.target.value; this.reload('filter'); } },
        [['name', 'name'], ['-modified', 'modified'], ['-added', 'added'], ['-size', 'largest'], ['size', 'smallest']]
          .map(([v, k]) => h('option', { value: v, text: t(`sort.${k}`) })));
      this.viewBtn = h('button', { class: 'lm-btn', type: 'button', onclick: () => this.toggleView() });
      this.count = h('span', { class: 'lm-count' });
      this.selectAllBtn = h('button', { class: 'lm-btn', type: 'button', text: t('select.all'), title: t('select.all_hint'), onclick: () => this.selectAll() });
      const toolbar = h('div', { class: 'lm-toolbar' }, this.search, this.baseSel, this.tagInput, this.tagList, this.showSel, this.sortSel, this.viewBtn, this.selectAllBtn, this.count);
      this.bulkBar = this.buildBulkBar();
      this.scroller = h('div', { class: 'lm-scroller', tabindex: '0' });
      this.spacer = h('div', { class: 'lm-spacer' });
      this.windowEl = h('div', { class: 'lm-window' });
      this.spacer.append(this.windowEl);
      this.scroller.append(this.spacer);
      let ticking = false;
      this.scroller.addEventListener('scroll', () => {
        if (ticking) return;
        ticking = true;
        requestAnimationFrame(() => { ticking = false; this.render(); });
      });
      this.message = h('div', { class: 'lm-message', hidden: true });
      this.detail = h('aside', { class: 'lm-detail', hidden: true, 'aria-label': t('view.details') });
      const list = h('div', { class: 'lm-list' }, toolbar, this.bulkBar, this.message, this.scroller);
      this.updateViewButton();
      const library = h('div', { class: 'lm-library' }, list, this.detail);
      this.runHooks('library', { library, list, toolbar });
      return library;
    }

    // Other files add to the library view through LM.viewHooks[name] (functions called on the view).
    runHooks(name, ...args) {
      for (const fn of (LM.viewHooks && LM.viewHooks[name]) || []) {
        try { fn.call(this, ...args); } catch (err) { console.error(`LoRA Manager ${name} hook`, err); }
      }
    }

    toggleView() {
      this.view = this.view === 'grid' ? 'table' : 'grid';
      localStorage.setItem('lora-manager-view', this.view);
      this.updateViewButton();
      this.render(true);
    }

    updateViewButton() {
      this.viewBtn.textContent = t(this.view === 'grid' ? 'view.table' : 'view.grid');
      this.root.classList.toggle('lm-view-table', this.view === 'table');
    }

    // ----- data -----
    params() {
      const f = this.filters;
      const p = new URLSearchParams();
      if (f.query) p.set('query', f.query);
      if (f.base) p.set('base', f.base);
      if (f.tag) p.set('tag', f.tag);
      if (f.show === 'favorite') p.set('favorite', 'true');
      else if (f.show === 'has_preview') p.set('has_preview', 'true');
      else if (f.show === 'no_preview') p.set('has_preview', 'false');
      else if (f.show === 'duplicate') p.set('duplicate', 'true');
      else if (f.show === 'update_available') p.set('update_available', 'true');
      else if (f.show === 'missing') p.set('state', 'missing');
      else if (f.show === 'broken') p.set('broken', 'true');
      else if (f.show === 'trashed') p.set('state', 'trashed');
      p.set('sort', f.sort);
      this.runHooks('params', p);
      if (CARD_FIELDS.length) p.set('fields', CARD_FIELDS.join(','));
      return p;
    }

    fetchChunk(index) {
      const have = this.chunks.get(index);
      if (have) return have;
      if (Date.now() - (this.failedAt.get(index) || 0) < 5000) return Promise.resolve(null);
      const gen = this.gen;
      const p = this.params();
      p.set('limit', String(CHUNK));
      // Scrolling on from a loaded chunk continues from its cursor (an index seek); a jump
      // deep into the list has no cursor and pays for the offset.
      const after = this.cursors.get(index - 1);
      if (after) p.set('cursor', after);
      else p.set('offset', String(index * CHUNK));
      const promise = this.api.get(`/loras?${p}`).then((page) => {
        if (gen !== this.gen) return null;
        if (!after) this.total = page.total;
        this.chunks.set(index, page.items);
        if (page.next_cursor) this.cursors.set(index, page.next_cursor);
        return page.items;
      }).catch((err) => {
        if (gen === this.gen) {
          this.chunks.delete(index);
          this.failedAt.set(index, Date.now()); // not again for a while: the status poll reloads later
          this.loadError = err;
          this.showMessage(err);
        }
        return null;
      });
      this.chunks.set(index, promise);
      return promise;
    }

    async reload(reason, started) {
      const t0 = started || performance.now();
      if ((reason === 'search' || reason === 'filter') && this.selected.size) this.selected.clear(); // act only on what is seen
      const gen = ++this.gen;
      this.root.dataset.busy = 'true'; // a list is on its way (tests wait for it to settle)
      this.chunks = new Map();
      this.cursors = new Map(); // chunk index -> cursor after its last entry
      this.failedAt = new Map();
      this.loadError = null;
      this.runHooks('reload', reason);
      const items = await this.fetchChunk(0);
      if (gen === this.gen) delete this.root.dataset.busy; // settled: loaded, or its error shown
      if (items === null) return;
      this.loadError = null;
      this.hideMessage();
      if (reason !== 'keep') this.scroller.scrollTop = 0;
      this.render(true);
      const ms = performance.now() - t0;
      if (reason === 'first') { LM.metrics.firstPageMs = ms; LM.metrics.firstPageAt = performance.now(); }
      else if (reason === 'search' || reason === 'filter') { LM.metrics.lastSearchMs = ms; LM.metrics.searches.push(ms); }
      this.root.dataset.loaded = String(this.gen);
    }

    itemAt(i) {
      const chunk = this.chunks.get(Math.floor(i / CHUNK));
      return Array.isArray(chunk) ? chunk[i % CHUNK] : undefined;
    }

    findLoaded(id) {
      for (const chunk of this.chunks.values()) {
        if (!Array.isArray(chunk)) continue;
        const e = chunk.find((x) => x.id === id);
        if (e) return e;
      }
      return null;
    }

    async loadTags() {
      try {
        const tags = await this.api.get('/tags');
        clear(this.tagList).append(...tags.slice(0, 500).map((t) => h('option', { value: t.tag || t.name || '' })));
      } catch (err) { /* the list still works without suggestions */ }
    }

  }
  LM.LibraryView = LibraryView;
  // The helpers the view's other files (lora_manager_tab_*.js) use.
  LM.lib = { h, clear, append, t, shownName, stateText, fmtSize, fmtDate, familyLabel, badge, loraTag, previewImage, authImage, ApiError,
    FAMILIES, FAMILY_LABELS, CARD_FIELDS, CHUNK, VIEWS, KEY_STORE, makeApi };
  LM.detailActions = LM.detailActions || [];
  Object.assign(LM, { h, append, fmtSize, familyLabel, previewImage, badge, clear });

  // ---------- finding the mount point (host page or standalone) ----------

  function findRoot() {
    const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
    return (app && app.querySelector && app.querySelector('#lm-app')) || document.querySelector('#lm-app')
      || (document.querySelector('gradio-app') && document.querySelector('gradio-app').shadowRoot
        && document.querySelector('gradio-app').shadowRoot.querySelector('#lm-app'));
  }

  // The view's other files (grid, detail, bulk, status, keys, civitai, folders, filters): the mount point can appear (gradio
  // renders it) while later deferred scripts have not run yet, so mounting waits until every part has queued
  // (and every file of the text table, lora_manager_i18n*.js).
  const PARTS = 8;

  function tryMount() {
    const root = findRoot();
    if (!root) return false;
    if ((Array.isArray(LM.viewParts || []) && (LM.viewParts || []).length < PARTS) || !(LM.i18n && LM.i18n.ready())) {
      setTimeout(tryMount, 20);
      return true;
    }
    mount(root);
    return true;
  }

  // SDNext: mount once its UI is ready (its options, and so window.subpath, have arrived);
  // elsewhere (A1111, the standalone page) as soon as the mount point shows up.
  if (typeof window.onUiReady === 'function') {
    window.onUiReady(tryMount);
  } else {
    if (typeof window.onUiLoaded === 'function') window.onUiLoaded(tryMount);
    const observer = new MutationObserver(() => { if (tryMount()) observer.disconnect(); });
    const startObserving = () => {
      if (!tryMount()) observer.observe(document.documentElement, { childList: true, subtree: true });
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', startObserving);
    else startObserving();
  }
})();
