/* LoRA Manager tab: using the grid by keyboard and mouse: arrows move the focus, Enter opens, F favourites,
 * Del trashes, / searches; shift-click selects a range, ctrl/cmd-click one more, a drag over the empty part of
 * the grid draws a marquee; the context menu of a card (right click, the menu key or shift+F10).
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, t, shownName, loraTag } = lib;
    const editable = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
    return {
      bindKeys() {
        this.focusIndex = null;
        this.anchor = null;
        const s = this.scroller;
        s.addEventListener('keydown', (ev) => this.gridKey(ev));
        s.addEventListener('focusin', (ev) => {
          const card = ev.target.closest && ev.target.closest('[data-index]');
          if (card) this.focusIndex = Number(card.dataset.index);
        });
        s.addEventListener('mousedown', (ev) => this.marqueeStart(ev));
        document.addEventListener('keydown', (ev) => {
          if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey || editable(ev.target)) return;
          if (this.root.offsetParent === null || this.libraryPanel.hidden) return; // our tab is not the one shown
          ev.preventDefault();
          this.search.focus();
        });
        document.addEventListener('mousedown', (ev) => { if (this.menu && !this.menu.contains(ev.target)) this.closeMenu(); });
      },

      // ----- keyboard -----
      gridKey(ev) {
        if (editable(ev.target) || ev.target.tagName === 'BUTTON') return;
        const i = this.focusIndex ?? -1;
        const e = i >= 0 ? this.itemAt(i) : null;
        const cols = this.view === 'grid' ? (this.cols || 1) : 1;
        const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -Infinity, End: Infinity };
        if (ev.key in moves && !ev.altKey) {
          ev.preventDefault();
          this.moveFocus(i < 0 ? 0 : i + moves[ev.key], ev.shiftKey);
        } else if (!e) {
          /* the keys below act on the focused LoRA */
        } else if (ev.key === 'Enter') {
          ev.preventDefault();
          this.openDetail(e.id);
        } else if ((ev.key === 'f' || ev.key === 'F') && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
          ev.preventDefault();
          this.saveField(e, 'favorite', !e.favorite);
        } else if (ev.key === 'Delete') {
          ev.preventDefault();
          if (e.state === 'ok') this.trash(e);
          else if (e.state === 'trashed') this.purge(e);
        } else if (ev.key === 'ContextMenu' || (ev.key === 'F10' && ev.shiftKey)) {
          ev.preventDefault();
          this.openMenu(e, i, null);
        } else if (ev.key === ' ') {
          ev.preventDefault();
          this.toggleSelected(e.id);
        }
      },

      moveFocus(index, extend) {
        if (!this.total) return;
        const i = Math.max(0, Math.min(this.total - 1, index));
        const from = this.focusIndex;
        this.focusIndex = i;
        const cfg = { grid: 252, table: 34 }[this.view];
        const cols = this.view === 'grid' ? (this.cols || 1) : 1;
        const top = Math.floor(i / cols) * cfg + (this.view === 'table' ? cfg : 0); // the table's head row
        const s = this.scroller;
        if (top < s.scrollTop) s.scrollTop = top - (this.view === 'table' ? cfg : 0);
        else if (top + cfg > s.scrollTop + s.clientHeight) s.scrollTop = top + cfg - s.clientHeight;
        if (extend && from !== null) this.selectRange(from, i, true);
        this.render(true);
        this.refocus();
      },

      refocus() {
        if (this.focusIndex === null || this.focusIndex === undefined) return;
        const el = this.windowEl.querySelector(`[data-index="${this.focusIndex}"]`);
        if (el) el.focus({ preventScroll: true });
        else this.scroller.focus({ preventScroll: true }); // not loaded yet: the redraw after the load focuses it
      },

      // ----- selection -----
      cardClick(e, index, ev) {
        this.focusIndex = index;
        if (ev.shiftKey && this.anchor !== null) {
          ev.preventDefault();
          this.selectRange(this.anchor, index, ev.ctrlKey || ev.metaKey);
        } else if (ev.ctrlKey || ev.metaKey) {
          this.anchor = index;
          this.toggleSelected(e.id);
        } else {
          this.anchor = index;
          this.openDetail(e.id);
        }
      },

      toggleSelected(id) {
        if (this.selected.has(id)) this.selected.delete(id); else this.selected.add(id);
        this.render(true);
        this.refocus();
      },

      // Every loaded LoRA between two places of the list (inclusive); `add` keeps what was selected before.
      selectRange(a, b, add) {
        if (!add) this.selected.clear();
        for (let i = Math.min(a, b); i <= Math.max(a, b); i++) {
          const x = this.itemAt(i);
          if (x) this.selected.add(x.id);
        }
        this.render(true);
        this.refocus();
      },

      // A drag that starts on the grid's empty part: every card it touches is selected.
      marqueeStart(ev) {
        if (ev.button !== 0 || ev.target.closest('.lm-card, .lm-row, button, input, select, a')) return;
        const s = this.scroller;
        const box = s.getBoundingClientRect();
        if (ev.clientX > box.left + s.clientWidth || ev.clientY > box.top + s.clientHeight) return; // the scrollbar
        const start = { x: ev.clientX, y: ev.clientY };
        const before = ev.ctrlKey || ev.metaKey || ev.shiftKey ? new Set(this.selected) : new Set();
        let rect = null;
        const move = (m) => {
          const [x1, x2] = [Math.min(start.x, m.clientX), Math.max(start.x, m.clientX)];
          const [y1, y2] = [Math.min(start.y, m.clientY), Math.max(start.y, m.clientY)];
          if (!rect && x2 - x1 < 5 && y2 - y1 < 5) return;
          m.preventDefault();
          if (!rect) this.root.append(rect = h('div', { class: 'lm-marquee' }));
          Object.assign(rect.style, { left: `${x1}px`, top: `${y1}px`, width: `${x2 - x1}px`, height: `${y2 - y1}px` });
          this.selected = new Set(before);
          for (const el of this.windowEl.querySelectorAll('[data-index]')) {
            const r = el.getBoundingClientRect();
            const hit = r.left < x2 && r.right > x1 && r.top < y2 && r.bottom > y1;
            const id = Number(el.dataset.id);
            if (hit) this.selected.add(Number.isNaN(id) ? el.dataset.id : id);
            const on = this.selected.has(Number.isNaN(id) ? el.dataset.id : id);
            el.classList.toggle('lm-picked', on);
            const check = el.querySelector('.lm-check');
            if (check) check.checked = on;
          }
          if (this.bulkCount) this.bulkCount.textContent = t('bulk.selected', { n: this.selected.size });
        };
        const up = () => {
          window.removeEventListener('mousemove', move);
          window.removeEventListener('mouseup', up);
          // the bulk bar shows only now: the grid must not move under the rectangle while it is drawn
          if (rect) { rect.remove(); this.renderBulkBar(); this.render(true); }
        };
        ev.preventDefault(); // a drag over the grid selects cards, not the page's text
        window.addEventListener('mousemove', move);
        window.addEventListener('mouseup', up);
      },

      // ----- the context menu -----
      openMenu(e, index, ev) {
        this.closeMenu();
        this.focusIndex = index;
        const item = (key, fn, danger) => h('button', { type: 'button', role: 'menuitem', class: `lm-menuitem${danger ? ' lm-danger' : ''}`, text: t(key),
          onclick: () => { this.closeMenu(); fn(); } });
        const items = [item('common.open', () => this.openDetail(e.id)),
          item(e.favorite ? 'menu.unfavorite' : 'menu.favorite', () => this.saveField(e, 'favorite', !e.favorite)),
          item('menu.copy', () => this.copy(loraTag(e, false)))];
        if (e.state === 'ok' || e.state === 'broken') {
          items.push(item('menu.move', () => this.openDetail(e.id).then(() => this.moveForm(this.current, this.detail.querySelector('.lm-actions')))),
            item('menu.trash', () => this.trash(e), true));
        } else if (e.state === 'trashed') {
          items.push(item('menu.restore', () => this.restore(e)), item('menu.purge', () => this.purge(e), true));
        } else if (e.state === 'missing') {
          items.push(item('menu.forget', () => this.forget(e), true));
        }
        const menu = h('div', { class: 'lm-menu', role: 'menu', 'aria-label': t('menu.label', { name: shownName(e) }) }, items);
        menu.addEventListener('keydown', (k) => {
          const all = [...menu.querySelectorAll('.lm-menuitem')];
          const at = all.indexOf(document.activeElement);
          if (k.key === 'Escape' || k.key === 'Tab') { k.preventDefault(); this.closeMenu(); this.refocus(); }
          else if (k.key === 'ArrowDown') { k.preventDefault(); all[(at + 1) % all.length].focus(); }
          else if (k.key === 'ArrowUp') { k.preventDefault(); all[(at - 1 + all.length) % all.length].focus(); }
        });
        this.root.append(menu);
        this.menu = menu;
        let x = ev ? ev.clientX : 0;
        let y = ev ? ev.clientY : 0;
        if (!ev) {
          const card = this.windowEl.querySelector(`[data-index="${index}"]`);
          const r = card ? card.getBoundingClientRect() : this.scroller.getBoundingClientRect();
          x = r.left + 12;
          y = r.top + 12;
        }
        const w = menu.offsetWidth;
        const hgt = menu.offsetHeight;
        menu.style.left = `${Math.max(4, Math.min(x, window.innerWidth - w - 4))}px`;
        menu.style.top = `${Math.max(4, Math.min(y, window.innerHeight - hgt - 4))}px`;
        items[0].focus();
      },

      closeMenu() {
        if (this.menu) this.menu.remove();
        this.menu = null;
      },
    };
  });
})();
