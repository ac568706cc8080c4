/* LoRA Manager tab: bulk actions on the selected LoRAs, and "Empty trash" beside the filters while the trash is
 * shown (Show: Trash): every LoRA in the trash deleted for good (DELETE /trash) after a confirmation.
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  const hooks = (LM.viewHooks = LM.viewHooks || {});
  const on = (name, fn) => (hooks[name] = hooks[name] || []).push(fn);

  on('library', function addEmptyTrash({ toolbar }) {
    const { h, t } = LM.lib;
    this.emptyTrashBtn = h('button', { class: 'lm-btn lm-danger lm-empty-trash', type: 'button', hidden: true, text: t('trash.empty'),
      title: t('trash.empty_hint'), onclick: () => this.emptyTrash() });
    toolbar.insertBefore(this.emptyTrashBtn, this.showSel.nextSibling);
  });
  on('reload', function showEmptyTrash() {
    if (this.emptyTrashBtn) this.emptyTrashBtn.hidden = this.filters.show !== 'trashed';
  });

  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, clear, t, familyLabel, FAMILIES } = lib;
    return {
      // ----- bulk -----
      buildBulkBar() {
        this.bulkCount = h('span', { class: 'lm-bulkcount' });
        this.bulkTag = h('input', { class: 'lm-input', placeholder: t('bulk.tag'), list: 'lm-tags', 'aria-label': t('bulk.tag_label') });
        this.bulkBase = h('select', { class: 'lm-select', 'aria-label': t('bulk.base_label') }, h('option', { value: '', text: t('bulk.base') }), FAMILIES.map((x) => h('option', { value: x, text: familyLabel(x) })));
        // The target folder: a list of the library's folders (GET /folders); a typed path where the server has no list.
        this.bulkFolder = h('select', { class: 'lm-select lm-bulkfolder', 'aria-label': t('bulk.folder_label'), name: 'bulk_folder' }, h('option', { value: '', text: t('bulk.folder_pick') }));
        this.bulkFolder.addEventListener('focus', () => this.fillFolders());
        const btn = (key, fn, cls) => h('button', { class: `lm-btn${cls ? ` ${cls}` : ''}`, type: 'button', text: t(key), onclick: fn });
        this.bulkRestore = btn('bulk.restore', () => this.bulk('restore'));
        // Preview generation for the selection: a job per LoRA through the host; absent where jobs cannot run.
        this.bulkReplace = h('input', { type: 'checkbox', 'aria-label': t('bulk.previews_replace') });
        this.bulkPreviews = h('span', { class: 'lm-inline lm-bulkpreviews', hidden: true },
          h('button', { class: 'lm-btn', type: 'button', text: t('bulk.previews'), title: t('bulk.previews_hint'), onclick: () => this.bulkGenerate() }),
          h('label', { class: 'lm-inline' }, this.bulkReplace, ` ${t('bulk.previews_replace')}`));
        return h('div', { class: 'lm-bulkbar', hidden: true },
          this.bulkCount,
          btn('bulk.select_loaded', () => { for (const c of this.chunks.values()) if (Array.isArray(c)) c.forEach((x) => this.selected.add(x.id)); this.render(true); }),
          btn('bulk.clear', () => { this.selected.clear(); this.render(true); }),
          this.bulkTag, btn('bulk.add_tag', () => this.bulk('tag', this.bulkTag.value.trim())), btn('bulk.remove_tag', () => this.bulk('untag', this.bulkTag.value.trim())),
          btn('bulk.favorite', () => this.bulk('favorite')), btn('bulk.unfavorite', () => this.bulk('unfavorite')),
          this.bulkBase, btn('bulk.set_base', () => this.bulk('set_base', this.bulkBase.value || null)),
          h('label', { class: 'lm-inline' }, h('span', { class: 'lm-label', text: t('move.folder') }), this.bulkFolder),
          btn('bulk.move', () => this.bulkEach('move')), this.bulkPreviews, this.bulkRestore, btn('bulk.delete', () => this.bulkEach('trash'), 'lm-danger'));
      },

      // The folder list of the bulk move, once per list load: "(top of the root)" and every folder below the roots.
      async fillFolders() {
        if (this.bulkFolder.dataset.gen === String(this.gen)) return;
        this.bulkFolder.dataset.gen = String(this.gen);
        const paths = await this.folderPaths();
        const keep = this.bulkFolder.value;
        if (!paths.length && !this.folderInput) {
          // No folder list from the server: a labelled text box takes the select's place.
          this.folderInput = h('input', { class: 'lm-input', placeholder: t('move.folder_hint'), 'aria-label': t('bulk.folder_label'), name: 'bulk_folder' });
          const focused = document.activeElement === this.bulkFolder;
          this.bulkFolder.replaceWith(this.folderInput);
          if (focused) this.folderInput.focus();
          return;
        }
        clear(this.bulkFolder).append(h('option', { value: '', text: t('bulk.folder_pick') }), h('option', { value: '.', text: t('move.root') }),
          ...paths.map((p) => h('option', { value: p, text: p })));
        this.bulkFolder.value = keep;
      },

      async selectAll() {
        if (this.total > 10000) { this.toast(t('bulk.too_many'), 'error'); return; }
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
        this.bulkCount.textContent = t('bulk.selected', { n });
        if (this.bulkRestore) this.bulkRestore.hidden = this.filters.show !== 'trashed';
        if (this.bulkPreviews && n) this.bulkPreviews.hidden = !this.jobsCanRun() || this.filters.show === 'trashed';
        if (this.bulkFolder && n && !this.bulkFolder.dataset.gen) this.fillFolders();
      },

      async bulk(action, value) {
        if ((action === 'tag' || action === 'untag') && !value) { this.toast(t('bulk.need_tag'), 'error'); return; }
        const keys = [...this.selected];
        try {
          const res = await this.api.post('/loras/bulk', { keys, action, value: value === undefined ? null : (action === 'tag' || action === 'untag' ? [value] : value) });
          this.toast(t('bulk.changed', { n: res.changed }), 'success');
          if (action === 'tag' || action === 'untag') this.loadTags();
          if (action === 'restore') this.selected.clear(); // they leave the trash shown: nothing picked stays hidden
          await this.reload('keep');
          if (this.current && this.selected.has(this.current.id)) this.openDetail(this.current.id);
        } catch (err) { this.toast(t('bulk.failed', { why: err.message }), 'error'); }
      },

      // Whether jobs run here: the Jobs panel's word (GET /meta's jobs.available), asked when the bar first
      // shows (never at start-up); until the answer, the action is not offered.
      jobsCanRun() {
        if (!LM.jobs || typeof LM.jobs.checkAvailable !== 'function') return !!(this.meta && this.meta.jobs && this.meta.jobs.available);
        if (!this.jobsAsked) this.jobsAsked = LM.jobs.checkAvailable().then(() => { this.jobsKnown = true; this.renderBulkBar(); });
        return !!this.jobsKnown && LM.jobs.available;
      },

      // POST /generation/previews with the selected keys; the answer (queued, skipped with why) in a toast.
      async bulkGenerate() {
        const keys = [...this.selected].map(String);
        if (keys.length > 500) { this.toast(t('bulk.previews_too_many', { n: 500 }), 'error'); return; }
        try {
          const r = await this.api.post('/generation/previews', { loras: keys, replace: this.bulkReplace.checked });
          const why = r.skipped.slice(0, 5).map((s) => `${s.lora}: ${s.reason}`).join('; ');
          this.toast(`${t('res.previews_queued', { n: r.queued.length, skipped: r.skipped.length })}${why ? ` (${why})` : ''}`,
            r.queued.length ? 'success' : 'info');
        } catch (err) {
          this.toast(err.code === 'no_host' ? t('res.no_host') : t('jobs.not_queued', { why: err.message }), 'error');
        }
      },

      async bulkEach(action) {
        const keys = [...this.selected];
        const picked = (this.folderInput || this.bulkFolder).value.trim();
        const folder = picked === '.' ? '' : picked;
        if (action === 'move' && !picked) { this.toast(t('bulk.need_folder'), 'error'); return; }
        if (action === 'trash' && !window.confirm(t('bulk.trash_confirm', { n: keys.length }))) return;
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
        const some = failed.length ? `, ${t('bulk.some_failed', { n: failed.length, first: failed[0] })}` : '';
        this.toast(`${t(action === 'move' ? 'bulk.moved' : 'bulk.deleted', { n: done })}${some}`, failed.length ? 'error' : 'success');
        this.reload('keep');
      },

      // Every LoRA in the trash, not only those the filters show: the confirmation says how many (GET /trash).
      async emptyTrash() {
        const btn = this.emptyTrashBtn;
        btn.disabled = true;
        try {
          const n = (await this.api.get('/trash?limit=1')).total;
          if (!n) { this.toast(t('trash.already_empty'), 'info'); return; }
          if (!window.confirm(t('trash.empty_confirm', { n }))) return;
          const res = await this.api.del('/trash');
          this.toast(t('trash.emptied', { n: res.deleted }), 'success');
          if (this.current && this.current.state === 'trashed') this.closeDetail();
          this.selected.clear();
          await this.reload('keep');
          this.pollStatus(); // the counts in the header
        } catch (err) {
          this.toast(t('trash.empty_failed', { why: err.message }), 'error');
        } finally { btn.disabled = false; }
      },

    };
  });
})();
