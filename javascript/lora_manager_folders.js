/* LoRA Manager tab: the folder tree beside the grid (GET /folders), breadcrumbs above it, and moving
 * LoRAs by dragging cards onto a folder (POST /loras/bulk, action move); new and renamed folders
 * (POST /folders, POST /folders/rename).
 *
 * The tree draws only the rows in view (thousands of folders stay cheap) and opens a folder's
 * children only when asked. Folder names come from disk: they are set as text, never as HTML.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  const ROW = 24; // px per tree row
  const MIME = 'application/x-lora-manager-ids';
  const HIDE_KEY = 'lora-manager-tree-hidden';
  const t = (key, vars) => LM.t(key, vars);
  const hooks = (LM.viewHooks = LM.viewHooks || {});
  const on = (name, fn) => (hooks[name] = hooks[name] || []).push(fn);

  const baseName = (p) => String(p).replace(/[\\/]+$/, '').split(/[\\/]/).pop() || String(p);
  const parentOf = (path) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
  const joinAbs = (root, path) => {
    if (!path) return root;
    const sep = root.includes('\\') && !root.includes('/') ? '\\' : '/';
    return root.replace(/[\\/]+$/, '') + sep + (sep === '/' ? path : path.split('/').join(sep));
  };

  // The tree's model: per root, its folders by parent path. Built once per GET /folders.
  function buildModel(data) {
    return (data && Array.isArray(data.roots) ? data.roots : []).map((r) => {
      const kids = new Map();
      for (const f of r.folders || []) {
        const parent = f.parent !== undefined && f.parent !== null ? String(f.parent) : parentOf(String(f.path));
        if (!kids.has(parent)) kids.set(parent, []);
        kids.get(parent).push(f);
      }
      return { root: String(r.root), count: r.count || 0, kids };
    });
  }

  // The rows now visible: each root, then the children of every open folder, depth first.
  function flatten(model, open) {
    const rows = [];
    const walk = (r, parent, depth) => {
      for (const f of r.kids.get(parent) || []) {
        const key = `${r.root}\n${f.path}`;
        const hasKids = r.kids.has(f.path);
        rows.push({ root: r.root, path: String(f.path), name: String(f.name || baseName(f.path)), count: f.count || 0,
          direct: f.direct || 0, depth, hasKids, open: open.has(key), key });
        if (hasKids && open.has(key)) walk(r, f.path, depth + 1);
      }
    };
    for (const r of model) {
      const key = `${r.root}\n`;
      rows.push({ root: r.root, path: '', name: baseName(r.root), count: r.count, depth: 0, hasKids: r.kids.has(''),
        open: open.has(key), key, isRoot: true });
      if (open.has(key)) walk(r, '', 1);
    }
    return rows;
  }

  on('library', function addTree({ library, list }) {
    const { h } = LM.lib;
    this.filters.folder = null; // null: every folder
    this.filters.root = null;
    this.treeOpen = new Set();
    this.treeRows = [];
    this.treeModel = [];
    this.crumbs = h('nav', { class: 'lm-crumbs', 'aria-label': t('folders.breadcrumbs'), hidden: true });
    list.insertBefore(this.crumbs, this.scroller);
    this.treeNote = h('div', { class: 'lm-muted lm-tree-note', hidden: true });
    this.treeName = h('input', { class: 'lm-input', placeholder: t('folders.name'), 'aria-label': t('folders.name') });
    const btn = (text, title, fn) => h('button', { class: 'lm-btn', type: 'button', text, title, onclick: fn });
    this.treeForm = h('div', { class: 'lm-tree-form', hidden: true }, this.treeName,
      btn(t('folders.create'), t('folders.create_title'), () => this.createFolder()),
      btn(t('folders.rename'), t('folders.rename_title'), () => this.renameFolder()));
    this.treeName.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.createFolder(); });
    this.treeScroll = h('div', { class: 'lm-tree', role: 'tree', 'aria-label': t('folders.title') });
    this.treeSpacer = h('div', { class: 'lm-tree-spacer' });
    this.treeWindow = h('div', { class: 'lm-tree-window' });
    this.treeSpacer.append(this.treeWindow);
    this.treeScroll.append(this.treeSpacer);
    this.treeAll = h('div', { class: 'lm-tree-row lm-tree-all', role: 'treeitem', tabindex: '0', text: t('folders.all') });
    this.treeAll.addEventListener('click', () => this.pickFolder(null, null));
    this.treeToggle = h('button', { class: 'lm-btn lm-tree-toggle', type: 'button', onclick: () => this.showTree(this.tree.classList.contains('lm-tree-hidden')) });
    this.tree = h('aside', { class: 'lm-folders', 'aria-label': t('folders.title') },
      h('div', { class: 'lm-tree-head' }, h('strong', { text: t('folders.title') }),
        btn('+', t('folders.new_title'), () => { this.treeForm.hidden = !this.treeForm.hidden; if (!this.treeForm.hidden) this.treeName.focus(); }),
        this.treeToggle),
      this.treeForm, this.treeNote, this.treeAll, this.treeScroll);
    library.insertBefore(this.tree, library.firstChild);
    let ticking = false;
    this.treeScroll.addEventListener('scroll', () => {
      if (ticking) return;
      ticking = true;
      requestAnimationFrame(() => { ticking = false; this.renderTree(); });
    });
    this.treeScroll.addEventListener('click', (ev) => {
      const el = ev.target.closest('.lm-tree-row');
      if (!el) return;
      const row = this.treeRows[Number(el.dataset.index)];
      if (!row) return;
      if (ev.target.closest('.lm-tree-twist')) this.toggleFolder(row);
      else this.pickFolder(row.root, row.path);
    });
    this.treeScroll.addEventListener('keydown', (ev) => {
      const el = ev.target.closest('.lm-tree-row');
      const row = el && this.treeRows[Number(el.dataset.index)];
      if (!row) return;
      if (ev.key === 'Enter') this.pickFolder(row.root, row.path);
      else if ((ev.key === 'ArrowRight' && !row.open) || (ev.key === 'ArrowLeft' && row.open)) this.toggleFolder(row);
    });
    this.dragSetup();
    this.showTree(localStorage.getItem(HIDE_KEY) !== '1');
    this.loadFolders();
  });

  on('reload', function refreshTree(reason) {
    if (reason === 'keep' && this.tree) this.loadFolders(); // after moves, trash, a finished scan
    if (this.crumbs) this.renderCrumbs();
  });

  on('params', function folderParams(p) {
    const f = this.filters;
    if (f.folder === null || f.folder === undefined) return;
    if (f.root) p.set('root', f.root);
    p.set('folder', f.folder);
  });

  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, clear } = lib;
    return {
      showTree(show) {
        this.tree.classList.toggle('lm-tree-hidden', !show);
        this.treeToggle.textContent = show ? '«' : '»';
        this.treeToggle.title = show ? t('folders.hide') : t('folders.show');
        this.treeToggle.setAttribute('aria-expanded', show ? 'true' : 'false');
        localStorage.setItem(HIDE_KEY, show ? '0' : '1');
        if (show) this.renderTree(true);
        if (this.libraryPanel) this.render(true); // not while the library is being built
      },

      async loadFolders() {
        const seq = (this.treeSeq = (this.treeSeq || 0) + 1);
        const t0 = performance.now();
        let data;
        try { data = await this.api.get('/folders'); } catch (err) {
          if (seq !== this.treeSeq) return;
          this.treeNote.hidden = false;
          this.treeNote.textContent = err.status === 404 ? t('folders.unavailable')
            : t('folders.failed', { why: err.message });
          return;
        }
        if (seq !== this.treeSeq) return;
        this.treeNote.hidden = true;
        this.setFolders(data);
        LM.metrics.folderTreeMs = performance.now() - t0;
      },

      setFolders(data) {
        this.treeModel = buildModel(data);
        if (!this.treeOpened && this.treeModel.length) { // the roots start open
          for (const r of this.treeModel) this.treeOpen.add(`${r.root}\n`);
          this.treeOpened = true;
        }
        this.treeRows = flatten(this.treeModel, this.treeOpen);
        this.renderTree(true);
        this.renderCrumbs();
      },

      toggleFolder(row) {
        if (!row.hasKids) return;
        if (this.treeOpen.has(row.key)) this.treeOpen.delete(row.key); else this.treeOpen.add(row.key);
        this.treeRows = flatten(this.treeModel, this.treeOpen);
        this.renderTree(true);
      },

      // Open every folder above `path` so that it shows in the tree.
      revealFolder(root, path) {
        if (!root) return;
        this.treeOpen.add(`${root}\n`);
        for (let p = parentOf(path || ''); p; p = parentOf(p)) this.treeOpen.add(`${root}\n${p}`);
        this.treeRows = flatten(this.treeModel, this.treeOpen);
      },

      renderTree(force) {
        if (!this.treeScroll || this.tree.classList.contains('lm-tree-hidden')) return;
        const rows = this.treeRows;
        this.treeSpacer.style.height = `${rows.length * ROW}px`;
        const top = this.treeScroll.scrollTop;
        const height = this.treeScroll.clientHeight || 600;
        const first = Math.max(0, Math.floor(top / ROW) - 5);
        const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + 5);
        const f = this.filters;
        const key = `${first}:${last}:${rows.length}:${f.root}:${f.folder}`;
        if (!force && key === this.treeKey) return;
        this.treeKey = key;
        this.treeWindow.style.transform = `translateY(${first * ROW}px)`;
        const frag = document.createDocumentFragment();
        for (let i = first; i < last; i++) {
          const r = rows[i];
          const picked = f.root === r.root && f.folder === r.path;
          const el = h('div', { class: `lm-tree-row${picked ? ' lm-picked' : ''}${r.isRoot ? ' lm-tree-root' : ''}`, role: 'treeitem', tabindex: '0',
            'aria-selected': picked ? 'true' : 'false', 'aria-expanded': r.hasKids ? String(r.open) : null,
            dataset: { index: String(i), path: r.path, root: r.root }, title: r.isRoot ? r.root : r.path },
          h('span', { class: 'lm-tree-twist', style: `margin-left:${r.depth * 12}px`, text: r.hasKids ? (r.open ? '▾' : '▸') : '' }),
          h('span', { class: 'lm-tree-name', text: r.name }),
          h('span', { class: 'lm-tree-count', title: r.isRoot ? '' : t('folders.here', { n: r.direct }), text: r.count.toLocaleString() }));
          frag.append(el);
        }
        clear(this.treeWindow).append(frag);
        this.treeAll.classList.toggle('lm-picked', f.folder === null || f.folder === undefined);
      },

      pickFolder(root, path) {
        const f = this.filters;
        if (f.root === root && f.folder === path) return;
        f.root = root;
        f.folder = root === null ? null : (path || '');
        if (root !== null) this.revealFolder(root, path);
        this.renderTree(true);
        this.reload('filter');
      },

      renderCrumbs() {
        const f = this.filters;
        const c = clear(this.crumbs);
        c.hidden = f.folder === null || f.folder === undefined;
        if (c.hidden) return;
        const link = (text, root, path) => h('button', { class: 'lm-crumb', type: 'button', text, onclick: () => this.pickFolder(root, path) });
        c.append(link(t('folders.all'), null, null), h('span', { class: 'lm-crumb-sep', text: '›' }), link(baseName(f.root || ''), f.root, ''));
        let acc = '';
        for (const part of (f.folder || '').split('/').filter(Boolean)) {
          acc = acc ? `${acc}/${part}` : part;
          c.append(h('span', { class: 'lm-crumb-sep', text: '›' }), link(part, f.root, acc));
        }
        const last = c.lastChild;
        if (last) last.setAttribute('aria-current', 'location');
      },

      // The folder a new folder goes into: the one selected, else the first root.
      pickedPlace() {
        const f = this.filters;
        if (f.root) return { root: f.root, path: f.folder || '' };
        return this.treeModel.length ? { root: this.treeModel[0].root, path: '' } : null;
      },

      checkName(name) {
        if (!name || name === '.' || name === '..' || /[\\/]/.test(name)) {
          this.toast(t('folders.bad_name'), 'error');
          return false;
        }
        return true;
      },

      async createFolder() {
        const name = this.treeName.value.trim();
        const place = this.pickedPlace();
        if (!this.checkName(name)) return;
        if (!place) { this.toast(t('folders.no_root'), 'error'); return; }
        const path = place.path ? `${place.path}/${name}` : name;
        try {
          await this.api.post('/folders', { root: place.root, path });
          this.treeName.value = '';
          this.toast(t('folders.created', { path }), 'info');
          this.revealFolder(place.root, `${path}/x`);
          await this.loadFolders();
        } catch (err) { this.toast(t('folders.not_created', { why: err.message }), 'error'); }
      },

      async renameFolder() {
        const f = this.filters;
        const name = this.treeName.value.trim();
        if (!f.root || !f.folder) { this.toast(t('folders.pick_first'), 'error'); return; }
        if (!this.checkName(name)) return;
        const old = f.folder;
        try {
          const res = await this.api.post('/folders/rename', { root: f.root, path: old, new_name: name });
          const parent = parentOf(old);
          const renamed = parent ? `${parent}/${name}` : name;
          const wasOpen = this.treeOpen.has(`${f.root}\n${old}`);
          if (wasOpen) this.treeOpen.add(`${f.root}\n${renamed}`);
          this.treeName.value = '';
          this.toast(t('folders.renamed', { old, name: renamed, n: res.moved }), 'info');
          f.folder = renamed;
          this.reload('keep');
        } catch (err) { this.toast(t('folders.not_renamed', { why: err.message }), 'error'); }
      },

      // ----- dragging cards (one, or the whole selection) onto a folder -----
      dragSetup() {
        const win = this.windowEl;
        win.addEventListener('mousedown', (ev) => {
          const card = ev.target.closest('.lm-card, .lm-row');
          if (card && card.dataset.id && !ev.target.closest('input, button')) card.draggable = true;
        });
        win.addEventListener('dragstart', (ev) => {
          const card = ev.target.closest('.lm-card, .lm-row');
          if (!card || !card.dataset.id) return;
          const id = Number(card.dataset.id);
          const ids = this.selected.has(id) ? [...this.selected] : [id];
          ev.dataTransfer.setData(MIME, JSON.stringify(ids));
          ev.dataTransfer.effectAllowed = 'move';
          this.root.classList.add('lm-dragging');
        });
        win.addEventListener('dragend', () => this.root.classList.remove('lm-dragging'));
        const target = (ev) => (ev.dataTransfer && [...ev.dataTransfer.types].includes(MIME) ? ev.target.closest('.lm-tree-row') : null);
        this.treeScroll.addEventListener('dragover', (ev) => {
          const row = target(ev);
          if (!row) return;
          ev.preventDefault();
          ev.dataTransfer.dropEffect = 'move';
          for (const el of this.treeWindow.querySelectorAll('.lm-drop')) if (el !== row) el.classList.remove('lm-drop');
          row.classList.add('lm-drop');
        });
        this.treeScroll.addEventListener('dragleave', (ev) => { const row = ev.target.closest('.lm-tree-row'); if (row) row.classList.remove('lm-drop'); });
        this.treeScroll.addEventListener('drop', (ev) => {
          const el = target(ev);
          if (!el) return;
          ev.preventDefault();
          el.classList.remove('lm-drop');
          this.root.classList.remove('lm-dragging');
          let ids = [];
          try { ids = JSON.parse(ev.dataTransfer.getData(MIME)); } catch (err) { return; }
          const row = this.treeRows[Number(el.dataset.index)];
          if (row && Array.isArray(ids) && ids.length) this.moveTo(ids, row.root, row.path);
        });
      },

      async moveTo(ids, root, path) {
        const where = path || baseName(root);
        try {
          const res = await this.api.post('/loras/bulk', { keys: ids, action: 'move', value: joinAbs(root, path) });
          for (const id of ids) this.selected.delete(id);
          this.toast(t('folders.moved_to', { n: res.changed, where }), 'info');
        } catch (err) {
          this.toast(t('folders.not_moved', { why: err.message }), 'error');
        }
        await this.reload('keep');
        if (this.current && ids.includes(this.current.id)) this.openDetail(this.current.id);
      },
    };
  });
})();
