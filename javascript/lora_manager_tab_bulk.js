/* LoRA Manager tab: bulk actions on the selected LoRAs.
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, familyLabel, FAMILIES } = lib;
    return {
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
      },

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
      },

      renderBulkBar() {
        const n = this.selected.size;
        this.bulkBar.hidden = n === 0;
        this.bulkCount.textContent = `${n} selected`;
      },

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
      },

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
      },

    };
  });
})();
