/* LoRA Manager tab: the grid and table: only the rows in view are drawn; messages, the key form, toasts.
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, clear, fmtSize, fmtDate, badge, previewImage, CHUNK, VIEWS, KEY_STORE } = lib;
    return {
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
      },

      selectBox(e) {
        const box = h('input', { type: 'checkbox', class: 'lm-check', 'aria-label': 'select', checked: this.selected.has(e.id) });
        box.addEventListener('click', (ev) => ev.stopPropagation());
        box.addEventListener('change', () => {
          if (box.checked) this.selected.add(e.id); else this.selected.delete(e.id);
          this.renderBulkBar();
        });
        return box;
      },

      favButton(e) {
        const btn = h('button', { type: 'button', class: `lm-fav${e.favorite ? ' lm-on' : ''}`, title: e.favorite ? 'unfavorite' : 'favorite', 'aria-pressed': e.favorite ? 'true' : 'false', text: e.favorite ? '★' : '☆' });
        btn.addEventListener('click', (ev) => { ev.stopPropagation(); this.saveField(e, 'favorite', !e.favorite); });
        return btn;
      },

      card(e) {
        const name = e.title || e.name;
        const el = h('div', { class: `lm-card${this.current && this.current.id === e.id ? ' lm-selected' : ''}${e.state !== 'ok' ? ` lm-state-${e.state}` : ''}`, dataset: { id: e.id }, tabindex: '0', title: e.prompt_name },
          h('div', { class: 'lm-thumb' }, previewImage(this.api, e, 'lm-img'), this.selectBox(e), this.favButton(e)),
          h('div', { class: 'lm-card-name', text: name }),
          h('div', { class: 'lm-card-meta' }, badge(e.base_model), this.updateBadge ? this.updateBadge(e) : null,
            e.uses ? h('span', { class: 'lm-uses', title: 'generations that used it', text: `${e.uses}×` }) : null,
            e.state !== 'ok' ? h('span', { class: 'lm-state', text: e.state }) : null));
        el.addEventListener('click', () => this.openDetail(e.id));
        el.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.openDetail(e.id); });
        return el;
      },

      tableHead() {
        return h('div', { class: 'lm-row lm-head' }, h('span', { text: '' }), h('span', { text: '★' }), h('span', { text: 'Name' }), h('span', { text: 'Base' }),
          h('span', { text: 'Type' }), h('span', { text: 'Size' }), h('span', { text: 'Modified' }), h('span', { text: 'State' }));
      },

      row(e) {
        const el = h('div', { class: `lm-row${this.current && this.current.id === e.id ? ' lm-selected' : ''}`, dataset: { id: e.id }, tabindex: '0' },
          this.selectBox(e), this.favButton(e), h('span', { class: 'lm-cell-name', text: e.title || e.name, title: e.prompt_name }), badge(e.base_model),
          h('span', { text: e.network_type || '' }), h('span', { text: fmtSize(e.size) }), h('span', { text: fmtDate(e.mtime_ns) }),
          h('span', { text: e.state === 'ok' ? (e.hash_state || '') : e.state }));
        el.addEventListener('click', () => this.openDetail(e.id));
        el.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') this.openDetail(e.id); });
        return el;
      },

      showMessage(err, kind) {
        const text = typeof err === 'string' ? err : (err && err.message) || String(err);
        this.message.hidden = false;
        this.message.className = `lm-message lm-${kind || 'error'}`;
        clear(this.message).append(text);
        if (err && err.status === 401 && !this.hostMode) this.message.append(' ', this.keyForm());
      },

      hideMessage() { this.message.hidden = true; },

      keyForm() {
        const input = h('input', { class: 'lm-input', type: 'password', placeholder: 'API key', 'aria-label': 'API key' });
        const btn = h('button', { class: 'lm-btn', type: 'button', text: 'Use key', onclick: () => {
          localStorage.setItem(KEY_STORE, input.value);
          if (LM.resetAuth) LM.resetAuth();
          this.reload('first');
          this.loadTags();
        } });
        return h('span', { class: 'lm-keyform' }, input, btn);
      },

      toast(text, kind) {
        const t = h('div', { class: `lm-toast lm-${kind || 'info'}`, role: 'status', text });
        this.root.append(t);
        setTimeout(() => t.remove(), 3500);
      },

    };
  });
})();
