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

  const FAMILIES = ['sd1', 'sd2', 'xl', 'sd3', 'sc', 'f1', 'f2', 'hv', 'chroma', 'zimage', 'anima', 'qwen'];
  const FAMILY_LABELS = {
    sd1: 'SD 1.x', sd2: 'SD 2.x', xl: 'SDXL', sd3: 'SD 3', sc: 'Cascade', f1: 'FLUX.1', f2: 'FLUX.2',
    hv: 'Hunyuan', chroma: 'Chroma', zimage: 'Z-Image', anima: 'Anima', qwen: 'Qwen',
  };
  const LIST_FIELDS = 'id,name,prompt_name,alias,title,base_model,favorite,rating,previews,cover,state,size,mtime_ns,network_type,preferred_weight,triggers,hash_state,uses';
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

  function fmtDate(ns) {
    if (!ns) return '';
    const d = new Date(Number(ns) / 1e6);
    return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 10);
  }

  function familyLabel(f) { return f ? (FAMILY_LABELS[f] || f) : 'unknown'; }

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
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
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
        throw new ApiError(0, 'network', `the server did not answer (${err && err.message ? err.message : err})`);
      }
      if (!res) throw new ApiError(0, 'network', 'the server did not answer');
      if (res.status === 401 && !retried && typeof LM.resetAuth === 'function') {
        LM.resetAuth(); // a new sign-in, or a token read before the host was ready
        return request(method, path, body, true);
      }
      let data = null;
      if (res.status !== 204) data = await res.json().catch(() => null);
      if (!res.ok) {
        const e = (data && data.error) || {};
        throw new ApiError(res.status, e.code || String(res.status), e.message || (data && data.detail) || res.statusText);
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
    if (!hasPreview && !entry.cover) return h('div', { class: `${cls} lm-noimg`, text: 'no preview' });
    const first = hasPreview ? entry.previews[index] : null;
    const path = hasPreview ? `/loras/${entry.id}/previews/${index}` : `/loras/${entry.id}/cover`;
    if (first && /\.(mp4|webm)$/i.test(first.name || '')) {
      return h('video', { class: cls, src: api.url(path), muted: true, loop: true, preload: 'none', playsinline: true });
    }
    return authImage(api.url(path), cls);
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
    const hostMode = root.dataset.mode === 'host';
    const app = new LibraryView(root, api, hostMode);
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
      this.rescanBtn = h('button', { class: 'lm-btn', type: 'button', text: 'Rescan', title: 'look for new, changed, moved and removed files', onclick: () => this.rescan() });
      const header = h('div', { class: 'lm-header' }, this.nav, h('div', { class: 'lm-statusbar' }, this.status, this.rescanBtn));
      this.body = h('div', { class: 'lm-body' });
      r.append(header, this.body);
      this.libraryPanel = this.buildLibrary();
      this.addPanel('library', 'Library', this.libraryPanel);
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
      this.search = h('input', { class: 'lm-input lm-search', type: 'search', placeholder: 'Search names, triggers, tags, descriptions…', 'aria-label': 'search' });
      let timer = null;
      this.search.addEventListener('input', () => {
        const started = performance.now();
        clearTimeout(timer);
        timer = setTimeout(() => { f.query = this.search.value.trim(); this.reload('search', started); }, 90);
      });
      this.baseSel = h('select', { class: 'lm-select', 'aria-label': 'base model', onchange: (e) => { f.base = e.target.value; this.reload('filter'); } },
        h('option', { value: '', text: 'All base models' }),
        FAMILIES.map((x) => h('option', { value: x, text: familyLabel(x) })));
      this.tagInput = h('input', { class: 'lm-input lm-taginput', list: 'lm-tags', placeholder: 'Tag', 'aria-label': 'tag' });
      this.tagInput.addEventListener('change', () => { f.tag = this.tagInput.value.trim(); this.reload('filter'); });
      this.tagList = h('datalist', { id: 'lm-tags' });
      this.showSel = h('select', { class: 'lm-select', 'aria-label': 'show', onchange: (e) => { f.show = e.target.value; this.reload('filter'); } },
        [['', 'Everything'], ['favorite', 'Favorites'], ['has_preview', 'With preview'], ['no_preview', 'Without preview'],
          ['duplicate', 'Duplicates'], ['missing', 'Missing'], ['broken', 'Broken'], ['trashed', 'Trash']]
          .map(([v, t]) => h('option', { value: v, text: t })));
      this.sortSel = h('select', { class: 'lm-select', 'aria-label': 'sort', onchange: (e) => { f.sort = e.target.value; this.reload('filter'); } },
        [['name', 'Name'], ['-modified', 'Newest file'], ['-added', 'Recently added'], ['-size', 'Largest'], ['size', 'Smallest']]
          .map(([v, t]) => h('option', { value: v, text: t })));
      this.viewBtn = h('button', { class: 'lm-btn', type: 'button', onclick: () => this.toggleView() });
      this.count = h('span', { class: 'lm-count' });
      this.selectAllBtn = h('button', { class: 'lm-btn', type: 'button', text: 'Select all', title: 'select every LoRA that matches (up to 10,000) for a bulk action', onclick: () => this.selectAll() });
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
      this.detail = h('aside', { class: 'lm-detail', hidden: true, 'aria-label': 'details' });
      const list = h('div', { class: 'lm-list' }, toolbar, this.bulkBar, this.message, this.scroller);
      this.updateViewButton();
      return h('div', { class: 'lm-library' }, list, this.detail);
    }

    toggleView() {
      this.view = this.view === 'grid' ? 'table' : 'grid';
      localStorage.setItem('lora-manager-view', this.view);
      this.updateViewButton();
      this.render(true);
    }

    updateViewButton() {
      this.viewBtn.textContent = this.view === 'grid' ? 'Table view' : 'Grid view';
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
      else if (f.show === 'missing') p.set('state', 'missing');
      else if (f.show === 'broken') p.set('broken', 'true');
      else if (f.show === 'trashed') p.set('state', 'trashed');
      p.set('sort', f.sort);
      p.set('fields', LIST_FIELDS);
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
      this.gen += 1;
      this.chunks = new Map();
      this.cursors = new Map(); // chunk index -> cursor after its last entry
      this.failedAt = new Map();
      this.loadError = null;
      const items = await this.fetchChunk(0);
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

    // ----- rendering (only the rows in view) -----
    render(force) {
      if (!this.scroller || this.libraryPanel.hidden) return;
      const cfg = VIEWS[this.view];
      const width = this.scroller.clientWidth || 800;
      const cols = this.view === 'grid' ? Math.max(1, Math.floor(width / cfg.minWidth)) : 1;
      const rows = Math.ceil(this.total / cols);
      this.spacer.style.height = `${rows * cfg.rowHeight}px`;
      const top = this.scroller.scrollTop;
      const height = this.scroller.clientHeight || 600;
      const first = Math.max(0, Math.floor(top / cfg.rowHeight) - 2);
      const last = Math.min(rows, Math.ceil((top + height) / cfg.rowHeight) + 2);
      const from = first * cols;
      const to = Math.min(this.total, last * cols);
      const key = `${this.view}:${cols}:${from}:${to}:${this.gen}`;
      this.count.textContent = `${this.total.toLocaleString()} LoRA${this.total === 1 ? '' : 's'}`;
      this.renderBulkBar();
      if (this.total === 0) {
        clear(this.windowEl);
        if (this.loadError) return; // its message (and the key form) stays
        this.showMessage(this.filters.query || this.filters.base || this.filters.tag || this.filters.show
          ? 'Nothing matches. Clear the search or a filter.' : 'No LoRAs yet: add files to your LoRA folders, then Rescan.', 'info');
        return;
      }
      if (!force && key === this.lastKey) return;
      let pending = false;
      for (let c = Math.floor(from / CHUNK); c <= Math.floor(Math.max(from, to - 1) / CHUNK); c++) {
        if (!Array.isArray(this.chunks.get(c))) {
          pending = true;
          if (!this.chunks.has(c)) this.fetchChunk(c).then((items) => { if (items) this.render(true); });
        }
      }
      this.lastKey = pending ? null : key;
      this.windowEl.style.transform = `translateY(${first * cfg.rowHeight}px)`;
      this.windowEl.style.gridTemplateColumns = this.view === 'grid' ? `repeat(${cols}, minmax(0, 1fr))` : '';
      const frag = document.createDocumentFragment();
      if (this.view === 'table' && first === 0) frag.append(this.tableHead());
      for (let i = from; i < to; i++) {
        const e = this.itemAt(i);
        frag.append(e ? (this.view === 'grid' ? this.card(e) : this.row(e)) : h('div', { class: this.view === 'grid' ? 'lm-card lm-placeholder' : 'lm-row lm-placeholder' }));
      }
      clear(this.windowEl).append(frag);
    }

    selectBox(e) {
      const box = h('input', { type: 'checkbox', class: 'lm-check', 'aria-label': 'select', checked: this.selected.has(e.id) });
      box.addEventListener('click', (ev) => ev.stopPropagation());
      box.addEventListener('change', () => {
        if (box.checked) this.selected.add(e.id); else this.selected.delete(e.id);
        this.renderBulkBar();
      });
      return box;
    }

    favButton(e) {
      const btn = h('button', { type: 'button', class: `lm-fav${e.favorite ? ' lm-on' : ''}`, title: e.favorite ? 'unfavorite' : 'favorite', 'aria-pressed': e.favorite ? 'true' : 'false', text: e.favorite ? '★' : '☆' });
      btn.addEventListener('click', (ev) => { ev.stopPropagation(); this.saveField(e, 'favorite', !e.favorite); });
      return btn;
    }

    card(e) {
      const name = e.title || e.name;
      const el = h('div', { class: `lm-card${this.current && this.current.id === e.id ? ' lm-selected' : ''}${e.state !== 'ok' ? ` lm-state-${e.state}` : ''}`, dataset: { id: e.id }, tabindex: '0', title: e.prompt_name },
        h('div', { class: 'lm-thumb' }, previewImage(this.api, e, 'lm-img'), this.selectBox(e), this.favButton(e)),
        h('div', { class: 'lm-card-name', text: name }),
        h('div', { class: 'lm-card-meta' }, badge(e.base_model), e.uses ? h('span', { class: 'lm-uses', title: 'generations that used it', text: `${e.uses}×` }) : null,
          e.state !== 'ok' ? h('span', { class: 'lm-state', text: e.state }) : null));
      el.addEventListener('click', () => this.openDetail(e.id));
      el.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.openDetail(e.id); });
      return el;
    }

    tableHead() {
      return h('div', { class: 'lm-row lm-head' }, h('span', { text: '' }), h('span', { text: '★' }), h('span', { text: 'Name' }), h('span', { text: 'Base' }),
        h('span', { text: 'Type' }), h('span', { text: 'Size' }), h('span', { text: 'Modified' }), h('span', { text: 'State' }));
    }

    row(e) {
      const el = h('div', { class: `lm-row${this.current && this.current.id === e.id ? ' lm-selected' : ''}`, dataset: { id: e.id }, tabindex: '0' },
        this.selectBox(e), this.favButton(e), h('span', { class: 'lm-cell-name', text: e.title || e.name, title: e.prompt_name }), badge(e.base_model),
        h('span', { text: e.network_type || '' }), h('span', { text: fmtSize(e.size) }), h('span', { text: fmtDate(e.mtime_ns) }),
        h('span', { text: e.state === 'ok' ? (e.hash_state || '') : e.state }));
      el.addEventListener('click', () => this.openDetail(e.id));
      el.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.openDetail(e.id); });
      return el;
    }

    showMessage(err, kind) {
      const text = typeof err === 'string' ? err : (err && err.message) || String(err);
      this.message.hidden = false;
      this.message.className = `lm-message lm-${kind || 'error'}`;
      clear(this.message).append(text);
      if (err && err.status === 401 && !this.hostMode) this.message.append(' ', this.keyForm());
    }

    hideMessage() { this.message.hidden = true; }

    keyForm() {
      const input = h('input', { class: 'lm-input', type: 'password', placeholder: 'API key', 'aria-label': 'API key' });
      const btn = h('button', { class: 'lm-btn', type: 'button', text: 'Use key', onclick: () => {
        localStorage.setItem(KEY_STORE, input.value);
        if (LM.resetAuth) LM.resetAuth();
        this.reload('first');
        this.loadTags();
      } });
      return h('span', { class: 'lm-keyform' }, input, btn);
    }

    toast(text, kind) {
      const t = h('div', { class: `lm-toast lm-${kind || 'info'}`, role: 'status', text });
      this.root.append(t);
      setTimeout(() => t.remove(), 3500);
    }

    // ----- saving -----
    async saveField(entry, field, value) {
      try {
        const updated = await this.api.patch(`/loras/${entry.id}`, { [field]: value });
        this.applyUpdate(updated);
        this.flash(field, 'saved');
        return updated;
      } catch (err) {
        this.flash(field, `not saved: ${err.message}`, true);
        this.toast(`Not saved: ${err.message}`, 'error');
        return null;
      }
    }

    applyUpdate(updated) {
      const loaded = this.findLoaded(updated.id);
      if (loaded) for (const k of Object.keys(loaded)) if (k in updated) loaded[k] = updated[k];
      if (this.current && this.current.id === updated.id) {
        this.current = updated;
        // Only the parts that derive from the edit: the form keeps focus and caret.
        const line = this.detail.querySelector('.lm-tagline');
        if (line) line.textContent = loraTag(updated, true);
        const fav = this.detail.querySelector("input[aria-label='favorite']");
        if (fav) fav.checked = !!updated.favorite;
      }
      this.render(true);
    }

    flash(field, text, bad) {
      const el = this.detail.querySelector(`[data-status="${field}"]`);
      if (!el) return;
      el.textContent = text;
      el.classList.toggle('lm-bad', !!bad);
      clearTimeout(el._t);
      el._t = setTimeout(() => { el.textContent = ''; }, bad ? 8000 : 1500);
    }

    // ----- the detail panel -----
    async openDetail(id) {
      const seq = (this.detailSeq = (this.detailSeq || 0) + 1);
      let entry;
      try { entry = await this.api.get(`/loras/${id}`); } catch (err) { this.toast(err.message, 'error'); return; }
      if (seq !== this.detailSeq) return; // another LoRA was opened meanwhile
      this.current = entry;
      this.renderDetail();
      this.render(true);
    }

    closeDetail() { this.current = null; this.detail.hidden = true; this.render(true); }

    renderDetail() {
      const e = this.current;
      const d = clear(this.detail);
      d.hidden = false;
      const tagText = loraTag(e, true);
      append(d,
        h('div', { class: 'lm-detail-head' },
          h('h3', { class: 'lm-detail-title', text: e.title || e.name }),
          h('button', { class: 'lm-btn lm-close', type: 'button', 'aria-label': 'close', text: '×', onclick: () => this.closeDetail() })),
        h('div', { class: 'lm-sub' }, badge(e.base_model), ` ${e.network_type || ''} ${e.rank ? `rank ${e.rank}` : ''}`, e.state !== 'ok' ? h('span', { class: 'lm-state', text: ` ${e.state}` }) : null),
        e.error ? h('div', { class: 'lm-message lm-error', text: e.error }) : null,
        this.previewStrip(e),
        h('code', { class: 'lm-tagline', text: tagText }),
        this.actions(e),
        this.editForm(e),
        this.section('Hashes', this.hashTable(e)),
        e.description ? this.section('Description', h('div', { class: 'lm-pre', text: e.description })) : null,
        e.training_tags && e.training_tags.length ? this.section('Training tags', h('div', { class: 'lm-chips' }, e.training_tags.slice(0, 60).map((t) => h('span', { class: 'lm-chip', text: Array.isArray(t) ? `${t[0]} (${t[1]})` : (t.tag ? `${t.tag} (${t.count})` : String(t)) })))) : null,
        this.section('File', this.kvTable([
          ['Prompt name', e.prompt_name], ['Alias', e.alias], ['Path', e.path], ['Size', fmtSize(e.size)], ['Modified', fmtDate(e.mtime_ns)],
          ['Added', e.added_at], ['Base model', `${familyLabel(e.base_model)} (${e.base_model_source || 'unknown'}${e.base_label ? `: ${e.base_label}` : ''})`],
          ['Author', e.author], ['Resolution', e.resolution], ['Moved from', e.moved_from], ['Missing since', e.missing_since],
        ])),
        e.sidecars && e.sidecars.length ? this.section('Sidecars', h('ul', { class: 'lm-list-plain' }, e.sidecars.map((s) => h('li', { text: typeof s === 'string' ? s : `${s.name || s.path || ''}${s.kind ? ` (${s.kind})` : ''}${s.error ? ` — ${s.error}` : ''}` })))) : null,
        e.duplicates && e.duplicates.length ? this.section('Duplicates (same full hash)', h('ul', { class: 'lm-list-plain' }, e.duplicates.map((x) => h('li', {}, h('a', { href: '#', text: x.path || x.prompt_name || String(x.id), onclick: (ev) => { ev.preventDefault(); this.openDetail(x.id); } }))))) : null,
        e.metadata && Object.keys(e.metadata).length ? this.section('Metadata', this.kvTable(Object.entries(e.metadata).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]), true), true) : null,
      );
      for (const extra of LM.detailActions) {
        try { extra(this, e, d.querySelector('.lm-actions')); } catch (err) { console.error('LoRA Manager detail action', err); }
      }
    }

    previewStrip(e) {
      const n = (e.previews || []).length;
      if (!n && !e.cover) return h('div', { class: 'lm-previews lm-noimg', text: 'no preview' });
      const strip = h('div', { class: 'lm-previews' });
      for (let i = 0; i < Math.min(n, 8); i++) strip.append(previewImage(this.api, e, 'lm-preview', i));
      if (!n && e.cover) strip.append(previewImage(this.api, { id: e.id, previews: [], cover: e.cover }, 'lm-preview'));
      return strip;
    }

    section(title, content, collapsed) {
      return h('details', { class: 'lm-section', open: !collapsed }, h('summary', { text: title }), content);
    }

    kvTable(rows, mono) {
      return h('table', { class: `lm-kv${mono ? ' lm-mono' : ''}` }, h('tbody', {}, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
        .map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: String(v).length > 2000 ? `${String(v).slice(0, 2000)}…` : String(v) })))));
    }

    hashTable(e) {
      return this.kvTable([
        ['SHA-256 (full file)', e.sha256 || (e.hash_state === 'pending' ? 'hashing…' : e.hash_error || '')],
        ['AutoV2 (Civitai)', e.autov2],
        ['Tensor SHA-256 (addnet)', e.tensor_sha256],
        ['AutoV3', e.autov3],
        ['SDNext short hash', e.sdnext_hash],
        ['Legacy (A1111 old)', e.legacy_hash],
        ['Tensor hash source', e.tensor_hash_source],
      ], true);
    }

    actions(e) {
      const copy = h('button', { class: 'lm-btn', type: 'button', text: 'Copy tag', title: 'copy <lora:…> with trigger words', onclick: () => this.copy(loraTag(this.current || e, true)) });
      const bar = h('div', { class: 'lm-actions' }, copy);
      const targets = [['txt2img', 'To txt2img'], ['img2img', 'To img2img'], ['control', 'To control']];
      for (const [tab, label] of targets) {
        if (!this.hostMode && !document.querySelector(`#${tab}_prompt textarea`)) continue;
        bar.append(h('button', { class: 'lm-btn', type: 'button', text: label, onclick: () => this.sendToPrompt(tab, loraTag(this.current || e, true)) }));
      }
      if (e.state === 'trashed') {
        bar.append(h('button', { class: 'lm-btn', type: 'button', text: 'Restore', onclick: () => this.restore(e) }));
      } else if (e.state !== 'missing') {
        bar.append(h('button', { class: 'lm-btn', type: 'button', text: 'Move / rename', onclick: () => this.moveForm(e, bar) }));
        bar.append(h('button', { class: 'lm-btn lm-danger', type: 'button', text: 'Delete', title: 'move to the trash (recoverable)', onclick: () => this.trash(e) }));
      }
      return bar;
    }

    async copy(text) {
      LM.clipboard = text;
      try {
        await navigator.clipboard.writeText(text);
      } catch (err) { // http pages other than localhost have no async clipboard
        const ta = h('textarea', { class: 'lm-offscreen' }, text);
        document.body.append(ta);
        ta.select();
        document.execCommand('copy');
        ta.remove();
      }
      this.toast('Copied', 'info');
    }

    sendToPrompt(tab, text) {
      const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
      const box = app.querySelector(`#${tab}_prompt textarea`);
      if (!box) { this.toast(`No ${tab} prompt on this page`, 'error'); return; }
      const cur = box.value.replace(/\s+$/, '');
      box.value = cur ? `${cur}${/[,\n]$/.test(cur) ? ' ' : ', '}${text}` : text;
      box.dispatchEvent(new Event('input', { bubbles: true }));
      const sw = window[`switch_to_${tab}`];
      if (typeof sw === 'function') sw();
      this.toast(`Added to ${tab}`, 'info');
    }
    sendToPromptPublic(tab, text) { this.sendToPrompt(tab, text); }

    moveForm(e, bar) {
      if (bar.querySelector('.lm-moveform')) return;
      const rel = (e.folder || '');
      const folder = h('input', { class: 'lm-input', value: rel, placeholder: 'folder (inside a LoRA root)', 'aria-label': 'folder' });
      const name = h('input', { class: 'lm-input', value: e.name, placeholder: 'new name', 'aria-label': 'new name' });
      const go = h('button', { class: 'lm-btn', type: 'button', text: 'Move', onclick: async () => {
        const body = {};
        if (folder.value.trim() !== rel) body.folder = folder.value.trim();
        if (name.value.trim() && name.value.trim() !== e.name) body.name = name.value.trim();
        if (!Object.keys(body).length) { form.remove(); return; }
        try {
          const moved = await this.api.post(`/loras/${e.id}/move`, body);
          this.current = moved;
          this.toast('Moved', 'info');
          this.renderDetail();
          this.reload('keep');
        } catch (err) { this.toast(`Not moved: ${err.message}`, 'error'); }
      } });
      const form = h('div', { class: 'lm-moveform' }, folder, name, go);
      bar.after(form);
    }

    async trash(e) {
      if (!window.confirm(`Move “${e.name}” to the trash? It can be restored.`)) return;
      try {
        const t = await this.api.del(`/loras/${e.id}`);
        this.current = t;
        this.toast('Moved to the trash', 'info');
        this.renderDetail();
        this.reload('keep');
      } catch (err) { this.toast(`Not deleted: ${err.message}`, 'error'); }
    }

    async restore(e) {
      try {
        this.current = await this.api.post(`/loras/${e.id}/restore`);
        this.toast('Restored', 'info');
        this.renderDetail();
        this.reload('keep');
      } catch (err) { this.toast(`Not restored: ${err.message}`, 'error'); }
    }

    editForm(e) {
      const form = h('div', { class: 'lm-form' });
      const status = (field) => h('span', { class: 'lm-saved', dataset: { status: field } });
      const field = (label, input, name) => h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: label }), input, status(name));
      const list = (v) => (v || []).join(', ');
      const parseList = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
      const num = (s) => (s.trim() === '' ? null : Number(s));

      const fav = h('input', { type: 'checkbox', checked: e.favorite, 'aria-label': 'favorite' });
      fav.addEventListener('change', () => this.saveField(e, 'favorite', fav.checked));
      const rating = h('select', { class: 'lm-select', 'aria-label': 'rating' }, [0, 1, 2, 3, 4, 5].map((n) => h('option', { value: String(n), text: n ? '★'.repeat(n) : 'no rating' })));
      rating.value = String(e.rating || 0);
      rating.addEventListener('change', () => this.saveField(e, 'rating', Number(rating.value) || null));
      const tags = h('input', { class: 'lm-input', value: list(e.tags), placeholder: 'tag, tag', name: 'tags', 'aria-label': 'tags' });
      tags.addEventListener('change', () => this.saveField(e, 'tags', parseList(tags.value)));
      const triggers = h('input', { class: 'lm-input', value: list(e.triggers), placeholder: 'trigger words', name: 'triggers', 'aria-label': 'trigger words' });
      triggers.addEventListener('change', () => this.saveField(e, 'triggers', triggers.value.trim() ? parseList(triggers.value) : null));
      const weightInput = (name, value) => {
        const el = h('input', { class: 'lm-input lm-num', type: 'number', step: '0.05', min: '-10', max: '10', value: value ?? '', name, 'aria-label': name.replace('_', ' ') });
        el.addEventListener('change', () => {
          const v = num(el.value);
          if (v !== null && !Number.isFinite(v)) { this.flash(name, 'not a number', true); return; }
          this.saveField(e, name, v);
        });
        return el;
      };
      const base = h('select', { class: 'lm-select', name: 'base_model', 'aria-label': 'base model override' },
        h('option', { value: '', text: `detected (${familyLabel(e.base_model_detected)})` }), FAMILIES.map((x) => h('option', { value: x, text: familyLabel(x) })));
      base.value = e.base_model_source === 'user' ? (e.base_model || '') : '';
      base.addEventListener('change', () => this.saveField(e, 'base_model', base.value || null));
      const negative = h('textarea', { class: 'lm-input', rows: '2', name: 'negative_text', 'aria-label': 'negative text' }, e.negative_text || '');
      negative.addEventListener('change', () => this.saveField(e, 'negative_text', negative.value || null));
      const notes = h('textarea', { class: 'lm-input', rows: '3', name: 'notes', 'aria-label': 'notes' }, e.notes || '');
      notes.addEventListener('change', () => this.saveField(e, 'notes', notes.value || null));
      form.append(
        h('div', { class: 'lm-formrow' }, field('Favorite', fav, 'favorite'), field('Rating', rating, 'rating')),
        field('Tags', tags, 'tags'),
        field('Trigger words', triggers, 'triggers'),
        h('div', { class: 'lm-formrow' }, field('Weight', weightInput('preferred_weight', e.preferred_weight), 'preferred_weight'),
          field('Min', weightInput('weight_min', e.weight_min), 'weight_min'), field('Max', weightInput('weight_max', e.weight_max), 'weight_max')),
        field('Base model', base, 'base_model'),
        field('Negative prompt', negative, 'negative_text'),
        field('Notes', notes, 'notes'),
      );
      return form;
    }

    // ----- bulk -----
    buildBulkBar() {
      this.bulkCount = h('span', { class: 'lm-bulkcount' });
      this.bulkTag = h('input', { class: 'lm-input', placeholder: 'tag', list: 'lm-tags', 'aria-label': 'bulk tag' });
      this.bulkBase = h('select', { class: 'lm-select', 'aria-label': 'bulk base model' }, h('option', { value: '', text: 'base model…' }), FAMILIES.map((x) => h('option', { value: x, text: familyLabel(x) })));
      this.bulkFolder = h('input', { class: 'lm-input', placeholder: 'folder', 'aria-label': 'bulk folder' });
      const btn = (text, fn, cls) => h('button', { class: `lm-btn${cls ? ` ${cls}` : ''}`, type: 'button', text, onclick: fn });
      return h('div', { class: 'lm-bulkbar', hidden: true },
        this.bulkCount,
        btn('Select loaded', () => { for (const c of this.chunks.values()) if (Array.isArray(c)) c.forEach((x) => this.selected.add(x.id)); this.render(true); }),
        btn('Clear', () => { this.selected.clear(); this.render(true); }),
        this.bulkTag, btn('Add tag', () => this.bulk('tag', this.bulkTag.value.trim())), btn('Remove tag', () => this.bulk('untag', this.bulkTag.value.trim())),
        btn('Favorite', () => this.bulk('favorite')), btn('Unfavorite', () => this.bulk('unfavorite')),
        this.bulkBase, btn('Set base', () => this.bulk('set_base', this.bulkBase.value || null)),
        this.bulkFolder, btn('Move', () => this.bulkEach('move')), btn('Delete', () => this.bulkEach('trash'), 'lm-danger'));
    }

    async selectAll() {
      if (this.total > 10000) { this.toast('Narrow the list to 10,000 LoRAs or fewer first', 'error'); return; }
      const p = this.params();
      p.set('fields', 'id');
      p.set('limit', '10000');
      try {
        const page = await this.api.get(`/loras?${p}`);
        for (const e of page.items) this.selected.add(e.id);
        this.render(true);
      } catch (err) { this.toast(err.message, 'error'); }
    }

    renderBulkBar() {
      const n = this.selected.size;
      this.bulkBar.hidden = n === 0;
      this.bulkCount.textContent = `${n} selected`;
    }

    async bulk(action, value) {
      if ((action === 'tag' || action === 'untag') && !value) { this.toast('Type a tag first', 'error'); return; }
      const keys = [...this.selected];
      try {
        const res = await this.api.post('/loras/bulk', { keys, action, value: value === undefined ? null : (action === 'tag' || action === 'untag' ? [value] : value) });
        this.toast(`${res.changed} changed`, 'info');
        if (action === 'tag' || action === 'untag') this.loadTags();
        await this.reload('keep');
        if (this.current && this.selected.has(this.current.id)) this.openDetail(this.current.id);
      } catch (err) { this.toast(`Not done: ${err.message}`, 'error'); }
    }

    async bulkEach(action) {
      const keys = [...this.selected];
      const folder = this.bulkFolder.value.trim();
      if (action === 'move' && !folder) { this.toast('Type a folder first', 'error'); return; }
      if (action === 'trash' && !window.confirm(`Move ${keys.length} LoRA(s) to the trash? They can be restored.`)) return;
      let done = 0;
      const failed = [];
      for (const id of keys) {
        try {
          if (action === 'move') await this.api.post(`/loras/${id}/move`, { folder });
          else await this.api.del(`/loras/${id}`);
          done += 1;
          this.selected.delete(id);
        } catch (err) { failed.push(`${id}: ${err.message}`); }
        this.bulkCount.textContent = `${done}/${keys.length}…`;
      }
      this.toast(`${done} ${action === 'move' ? 'moved' : 'deleted'}${failed.length ? `, ${failed.length} failed (${failed[0]})` : ''}`, failed.length ? 'error' : 'info');
      this.reload('keep');
    }

    // ----- scan / hash status -----
    async pollStatus() {
      let next = 15000;
      // In the host our tab sits hidden behind the others most of the time: look rarely then.
      if (this.root.offsetParent === null && !this.scanWasRunning && this.total) {
        clearTimeout(this.pollTimer);
        this.pollTimer = setTimeout(() => this.pollStatus(), 5000);
        return;
      }
      try {
        const sys = await this.api.get('/system');
        const bg = sys.background || {};
        const scan = bg.scan || {};
        const hashing = bg.hashing || {};
        const parts = [];
        const running = scan.state === 'running' || scan.running;
        if (running) {
          const p = scan.progress || {};
          parts.push(`Scanning${p.done !== undefined && p.total ? ` ${p.done}/${p.total}` : ''}…`);
          next = 1500;
        } else {
          parts.push(`${(sys.library && sys.library.total || 0).toLocaleString()} files indexed`);
        }
        if (hashing.pending_files) {
          parts.push(`hashing: ${hashing.pending_files.toLocaleString()} left (${fmtSize(hashing.pending_bytes)})`);
          next = Math.min(next, 3000);
        }
        this.status.textContent = parts.join(' · ');
        this.rescanBtn.disabled = !!running;
        // A scan seen finishing, or counts that moved while we looked away: show the new state.
        const counts = JSON.stringify(sys.library || {});
        const moved = this.lastCounts !== undefined && counts !== this.lastCounts;
        this.lastCounts = counts;
        if ((this.scanWasRunning && !running) || (moved && !running)) { this.reload('keep'); this.loadTags(); }
        this.scanWasRunning = !!running;
      } catch (err) {
        this.status.textContent = err.status === 404 || err.status === 0 ? 'LoRA Manager is starting…' : `Status unavailable: ${err.message}`;
        next = 3000;
        if (this.total === 0 && (err.status === 404 || err.status === 0)) this.retryFirst = true;
      }
      if (this.retryFirst && next <= 3000) { this.retryFirst = false; this.reload('first'); }
      clearTimeout(this.pollTimer);
      this.pollTimer = setTimeout(() => this.pollStatus(), document.hidden ? Math.max(next, 30000) : next);
    }

    async rescan() {
      try {
        await this.api.post('/scans', {});
        this.scanWasRunning = true;
        this.status.textContent = 'Scanning…';
        setTimeout(() => this.pollStatus(), 500);
      } catch (err) { this.toast(err.status === 409 ? 'A scan is already running' : `No scan: ${err.message}`, err.status === 409 ? 'info' : 'error'); }
    }
  }
  LM.LibraryView = LibraryView;
  LM.detailActions = LM.detailActions || [];
  LM.h = h;
  LM.append = append;
  LM.fmtSize = fmtSize;
  LM.familyLabel = familyLabel;
  LM.previewImage = previewImage;
  LM.badge = badge;
  LM.clear = clear;

  // ---------- finding the mount point (host page or standalone) ----------

  function findRoot() {
    const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
    return (app && app.querySelector && app.querySelector('#lm-app')) || document.querySelector('#lm-app')
      || (document.querySelector('gradio-app') && document.querySelector('gradio-app').shadowRoot
        && document.querySelector('gradio-app').shadowRoot.querySelector('#lm-app'));
  }

  function tryMount() {
    const root = findRoot();
    if (root) { mount(root); return true; }
    return false;
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
