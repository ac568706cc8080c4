/* LoRA Manager tab: the grid and table: only the rows in view are drawn; messages, the key form, toasts
 * (stacked in one corner, readable in both themes, long text wrapped).
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, clear, t, shownName, stateText, fmtSize, fmtDate, badge, previewImage, CHUNK, VIEWS, KEY_STORE } = lib;
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
        this.cols = cols;
        this.count.textContent = t(this.total === 1 ? 'count.one' : 'count.other', { n: LM.i18n ? LM.i18n.number(this.total) : this.total });
        this.renderBulkBar();
        if (this.total === 0) {
          clear(this.windowEl);
          if (this.loadError) return; // its message (and the key form) stays
          const filtered = this.filters.query || this.filters.base || this.filters.tag || this.filters.show
            || this.filters.folder || (this.activeFilters && this.activeFilters());
          this.showMessage(filtered ? t('empty.filtered') : t('empty.library'), 'info');
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
          frag.append(e ? (this.view === 'grid' ? this.card(e, i) : this.row(e, i)) : h('div', { class: this.view === 'grid' ? 'lm-card lm-placeholder' : 'lm-row lm-placeholder' }));
        }
        const hadFocus = this.scroller.contains(document.activeElement);
        clear(this.windowEl).append(frag);
        if (hadFocus && this.refocus) this.refocus(); // the keyboard's place survives a redraw (lora_manager_tab_keys.js)
      },

      selectBox(e) {
        const box = h('input', { type: 'checkbox', class: 'lm-check', 'aria-label': t('select.box'), checked: this.selected.has(e.id) });
        box.addEventListener('click', (ev) => ev.stopPropagation());
        box.addEventListener('change', () => {
          if (box.checked) this.selected.add(e.id); else this.selected.delete(e.id);
          const card = box.closest('[data-index]');
          if (card) card.classList.toggle('lm-picked', box.checked);
          this.renderBulkBar();
        });
        return box;
      },

      favButton(e) {
        const btn = h('button', { type: 'button', class: `lm-fav${e.favorite ? ' lm-on' : ''}`, title: t(e.favorite ? 'card.unfavorite' : 'card.favorite'), 'aria-pressed': e.favorite ? 'true' : 'false', text: e.favorite ? '★' : '☆' });
        btn.addEventListener('click', (ev) => { ev.stopPropagation(); this.saveField(e, 'favorite', !e.favorite); });
        return btn;
      },

      card(e, index) {
        const name = shownName(e);
        const picked = this.selected.has(e.id) ? ' lm-picked' : '';
        const el = h('div', { class: `lm-card${this.current && this.current.id === e.id ? ' lm-selected' : ''}${picked}${e.state !== 'ok' ? ` lm-state-${e.state}` : ''}`, dataset: { id: e.id, index }, tabindex: '0', title: e.prompt_name },
          h('div', { class: 'lm-thumb' }, previewImage(this.api, e, 'lm-img'), this.selectBox(e), this.favButton(e)),
          h('div', { class: 'lm-card-name', text: name }),
          h('div', { class: 'lm-card-meta' }, badge(e.base_model), this.updateBadge ? this.updateBadge(e) : null,
            e.uses ? h('span', { class: 'lm-uses', title: t('card.uses'), text: `${e.uses}×` }) : null,
            e.state !== 'ok' ? h('span', { class: 'lm-state', text: stateText(e.state) }) : null));
        return this.wire(el, e, index);
      },

      // Click (shift: a range, ctrl/cmd: one more), the context menu; the keys are the scroller's (keys.js).
      wire(el, e, index) {
        el.addEventListener('click', (ev) => (this.cardClick ? this.cardClick(e, index, ev) : this.openDetail(e.id)));
        el.addEventListener('contextmenu', (ev) => { if (this.openMenu) { ev.preventDefault(); this.openMenu(e, index, ev); } });
        return el;
      },

      tableHead() {
        return h('div', { class: 'lm-row lm-head' }, h('span', { text: '' }), h('span', { text: '★' }),
          ['name', 'base', 'type', 'size', 'modified', 'state'].map((k) => h('span', { text: t(`col.${k}`) })));
      },

      row(e, index) {
        const picked = this.selected.has(e.id) ? ' lm-picked' : '';
        const el = h('div', { class: `lm-row${this.current && this.current.id === e.id ? ' lm-selected' : ''}${picked}`, dataset: { id: e.id, index }, tabindex: '0' },
          this.selectBox(e), this.favButton(e), h('span', { class: 'lm-cell-name', text: shownName(e), title: e.prompt_name }), badge(e.base_model),
          h('span', { text: e.network_type || '' }), h('span', { text: fmtSize(e.size) }), h('span', { text: fmtDate(e.mtime_ns) }),
          h('span', { text: e.state === 'ok' ? (e.hash_state ? t(`hash.state_${e.hash_state}`) : '') : stateText(e.state) }));
        return this.wire(el, e, index);
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
        const input = h('input', { class: 'lm-input', type: 'password', placeholder: t('key.placeholder'), 'aria-label': t('key.placeholder') });
        const btn = h('button', { class: 'lm-btn', type: 'button', text: t('key.use'), onclick: () => {
          localStorage.setItem(KEY_STORE, input.value);
          if (LM.resetAuth) LM.resetAuth();
          this.reload('first');
          this.loadTags();
        } });
        return h('span', { class: 'lm-keyform' }, input, btn);
      },

      // One stack in the corner (newest at the bottom, at most five); errors stay longer and can be closed.
      toast(text, kind) {
        if (!this.toasts || !this.toasts.isConnected) this.root.append(this.toasts = h('div', { class: 'lm-toasts' }));
        const bad = kind === 'error';
        const el = h('div', { class: `lm-toast lm-${kind || 'info'}`, role: bad ? 'alert' : 'status' }, h('span', { class: 'lm-toast-text', text }));
        const close = () => el.remove();
        el.append(h('button', { type: 'button', class: 'lm-toast-close', 'aria-label': t('common.close'), text: '×', onclick: close }));
        this.toasts.append(el);
        while (this.toasts.children.length > 5) this.toasts.firstChild.remove();
        setTimeout(close, bad ? 8000 : 3500);
      },

    };
  });
})();
