/* LoRA Manager tab: saving edits, and the detail panel of one LoRA (previews, hashes, metadata, actions, edit form).
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, clear, append, t, shownName, stateText, fmtSize, fmtDate, familyLabel, badge, loraTag, previewImage, FAMILIES } = lib;
    // A moment as a date in the reader's language, the relative form beside it ("3 days ago").
    const when = (v) => (v ? `${fmtDate(v, true)} (${LM.i18n.relative(v)})` : null);
    return {
      // ----- saving -----
      async saveField(entry, field, value) {
        try {
          const updated = await this.api.patch(`/loras/${entry.id}`, { [field]: value });
          this.applyUpdate(updated);
          this.flash(field, t('edit.saved'));
          return updated;
        } catch (err) {
          this.flash(field, t('edit.not_saved', { why: err.message }), true);
          this.toast(t('edit.not_saved_toast', { why: err.message }), 'error');
          return null;
        }
      },

      applyUpdate(updated) {
        const loaded = this.findLoaded(updated.id);
        if (loaded) {
          for (const k of Object.keys(loaded)) if (k in updated) loaded[k] = updated[k];
          for (const k of ['display_name', 'shown_name', 'title']) if (k in updated) loaded[k] = updated[k]; // what a card shows
        }
        if (this.current && this.current.id === updated.id) {
          this.current = updated;
          // Only the parts that derive from the edit: the form keeps focus and caret.
          const line = this.detail.querySelector('.lm-tagline');
          if (line) line.textContent = loraTag(updated, true);
          const fav = this.detail.querySelector("input[name='favorite']");
          if (fav) fav.checked = !!updated.favorite;
          const title = this.detail.querySelector('.lm-detail-title');
          if (title) title.textContent = shownName(updated);
        }
        this.render(true);
      },

      flash(field, text, bad) {
        const el = this.detail.querySelector(`[data-status="${field}"]`);
        if (!el) return;
        el.textContent = text;
        el.classList.toggle('lm-bad', !!bad);
        clearTimeout(el._t);
        el._t = setTimeout(() => { el.textContent = ''; }, bad ? 8000 : 1500);
      },

      // ----- the detail panel -----
      async openDetail(id) {
        const seq = (this.detailSeq = (this.detailSeq || 0) + 1);
        let entry;
        const jobs = LM.jobs && LM.jobs.checkAvailable ? LM.jobs.checkAvailable() : null; // "Add to job" follows the server's word
        try { entry = await this.api.get(`/loras/${id}`); await jobs; } catch (err) { this.toast(err.message, 'error'); return; }
        if (seq !== this.detailSeq) return; // another LoRA was opened meanwhile
        this.current = entry;
        this.renderDetail();
        this.render(true);
      },

      closeDetail() { this.current = null; this.detail.hidden = true; this.render(true); },

      renderDetail() {
        const e = this.current;
        const d = clear(this.detail);
        d.hidden = false;
        const tagText = loraTag(e, true);
        append(d,
          h('div', { class: 'lm-detail-head' },
            h('h3', { class: 'lm-detail-title', text: shownName(e) }),
            h('button', { class: 'lm-btn lm-close', type: 'button', 'aria-label': t('common.close'), text: '×', onclick: () => this.closeDetail() })),
          h('div', { class: 'lm-sub' }, badge(e.base_model), ` ${e.network_type || ''} ${e.rank ? t('detail.rank', { n: e.rank }) : ''}`, e.state !== 'ok' ? h('span', { class: 'lm-state', text: ` ${stateText(e.state)}` }) : null),
          e.error ? h('div', { class: 'lm-message lm-error', text: e.error }) : null,
          this.previewStrip(e),
          h('code', { class: 'lm-tagline', text: tagText }),
          this.actions(e),
          this.editForm(e),
          this.section(t('detail.hashes'), this.hashTable(e)),
          e.description ? this.section(t('detail.description'), h('div', { class: 'lm-pre', text: e.description })) : null,
          e.training_tags && e.training_tags.length ? this.section(t('detail.training_tags'), h('div', { class: 'lm-chips' }, e.training_tags.slice(0, 60).map((t) => h('span', { class: 'lm-chip', text: Array.isArray(t) ? `${t[0]} (${t[1]})` : (t.tag ? `${t.tag} (${t.count})` : String(t)) })))) : null,
          this.section(t('detail.file'), this.kvTable([
            ['prompt_name', e.prompt_name], ['alias', e.alias], ['path', e.path], ['size', fmtSize(e.size)], ['modified', when(e.mtime_ns)],
            ['added', when(e.added_at)], ['base', `${familyLabel(e.base_model)} (${e.base_model_source || t('common.unknown')}${e.base_label ? `: ${e.base_label}` : ''})`],
            ['author', e.author], ['resolution', e.resolution], ['moved_from', e.moved_from], ['missing_since', when(e.missing_since)],
          ].map(([k, v]) => [t(`file.${k}`), v]))),
          e.sidecars && e.sidecars.length ? this.section(t('detail.sidecars'), h('ul', { class: 'lm-list-plain' }, e.sidecars.map((s) => h('li', { text: typeof s === 'string' ? s : `${s.name || s.path || ''}${s.kind ? ` (${s.kind})` : ''}${s.error ? ` — ${s.error}` : ''}` })))) : null,
          e.duplicates && e.duplicates.length ? this.section(t('detail.duplicates'), h('ul', { class: 'lm-list-plain' }, e.duplicates.map((x) => h('li', {}, h('a', { href: '#', text: x.path || x.prompt_name || String(x.id), onclick: (ev) => { ev.preventDefault(); this.openDetail(x.id); } }))))) : null,
          e.metadata && Object.keys(e.metadata).length ? this.section(t('detail.metadata'), this.kvTable(Object.entries(e.metadata).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]), true), true) : null,
        );
        for (const extra of LM.detailActions) {
          try { extra(this, e, d.querySelector('.lm-actions')); } catch (err) { console.error('LoRA Manager detail action', err); }
        }
      },

      previewStrip(e) {
        const n = (e.previews || []).length;
        if (!n && !e.cover) return h('div', { class: 'lm-previews lm-noimg', text: t('card.no_preview') });
        const strip = h('div', { class: 'lm-previews' });
        for (let i = 0; i < Math.min(n, 8); i++) strip.append(previewImage(this.api, e, 'lm-preview', i));
        if (!n && e.cover) strip.append(previewImage(this.api, { id: e.id, previews: [], cover: e.cover }, 'lm-preview'));
        return strip;
      },

      section(title, content, collapsed) {
        return h('details', { class: 'lm-section', open: !collapsed }, h('summary', { text: title }), content);
      },

      kvTable(rows, mono) {
        return h('table', { class: `lm-kv${mono ? ' lm-mono' : ''}` }, h('tbody', {}, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
          .map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: String(v).length > 2000 ? `${String(v).slice(0, 2000)}…` : String(v) })))));
      },

      hashTable(e) {
        return this.kvTable([
          [t('hash.full'), e.sha256 || (e.hash_state === 'pending' ? t('detail.hashing') : e.hash_error || '')],
          ['AutoV2 (Civitai)', e.autov2],
          [t('hash.tensor'), e.tensor_sha256],
          ['AutoV3', e.autov3],
          [t('hash.sdnext'), e.sdnext_hash],
          [t('hash.legacy'), e.legacy_hash],
          [t('hash.source'), e.tensor_hash_source],
        ], true);
      },

      actions(e) {
        const btn = (key, fn, extra) => h('button', { class: 'lm-btn', type: 'button', text: t(key), onclick: fn, ...extra });
        const bar = h('div', { class: 'lm-actions' }, btn('act.copy_tag', () => this.copy(loraTag(this.current || e, true)), { title: t('act.copy_tag_hint') }));
        for (const tab of ['txt2img', 'img2img', 'control']) {
          if (!this.hostMode && !document.querySelector(`#${tab}_prompt textarea`)) continue;
          bar.append(h('button', { class: 'lm-btn', type: 'button', text: t('act.to_prompt', { tab }), onclick: () => this.sendToPrompt(tab, loraTag(this.current || e, true)) }));
        }
        if (e.state === 'trashed') {
          bar.append(btn('act.restore', () => this.restore(e)), btn('act.purge', () => this.purge(e), { class: 'lm-btn lm-danger' }));
        } else if (e.state === 'missing') {
          bar.append(btn('act.forget', () => this.forget(e), { class: 'lm-btn lm-danger', title: t('act.forget_hint') }));
        } else {
          bar.append(btn('act.move', () => this.moveForm(e, bar)));
          bar.append(btn('act.delete', () => this.trash(e), { class: 'lm-btn lm-danger', title: t('act.delete_hint') }));
        }
        return bar;
      },

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
        this.toast(t('act.copied'), 'success');
      },

      sendToPrompt(tab, text) {
        const app = typeof window.gradioApp === 'function' ? window.gradioApp() : document;
        const box = app.querySelector(`#${tab}_prompt textarea`);
        if (!box) { this.toast(t('act.no_prompt', { tab }), 'error'); return; }
        const cur = box.value.replace(/\s+$/, '');
        box.value = cur ? `${cur}${/[,\n]$/.test(cur) ? ' ' : ', '}${text}` : text;
        box.dispatchEvent(new Event('input', { bubbles: true }));
        const sw = window[`switch_to_${tab}`];
        if (typeof sw === 'function') sw();
        this.toast(t('act.added_to', { tab }), 'success');
      },
      sendToPromptPublic(tab, text) { this.sendToPrompt(tab, text); },

      // Folder (picked from the library's folders when the server lists them) and new name, each labelled.
      moveForm(e, bar) {
        if (!bar || bar.parentNode.querySelector('.lm-moveform')) return;
        const rel = (e.folder || '');
        const folder = h('input', { class: 'lm-input', value: rel, placeholder: t('move.folder_hint'), name: 'folder', list: 'lm-folders' });
        const name = h('input', { class: 'lm-input', value: e.name, placeholder: t('move.name'), name: 'new_name' });
        const field = (key, input) => h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: t(key) }), input);
        const go = h('button', { class: 'lm-btn', type: 'button', text: t('move.go'), onclick: async () => {
          const body = {};
          if (folder.value.trim() !== rel) body.folder = folder.value.trim();
          if (name.value.trim() && name.value.trim() !== e.name) body.name = name.value.trim();
          if (!Object.keys(body).length) { form.remove(); return; }
          try {
            const moved = await this.api.post(`/loras/${e.id}/move`, body);
            this.current = moved;
            this.toast(t('move.done'), 'success');
            this.renderDetail();
            this.reload('keep');
          } catch (err) { this.toast(t('move.failed', { why: err.message }), 'error'); }
        } });
        const cancel = h('button', { class: 'lm-btn', type: 'button', text: t('common.cancel'), onclick: () => form.remove() });
        const form = h('div', { class: 'lm-moveform' }, field('move.folder', folder), field('move.name', name), h('div', { class: 'lm-actions' }, go, cancel),
          h('datalist', { id: 'lm-folders' }));
        bar.after(form);
        this.folderPaths().then((paths) => { form.querySelector('datalist').append(...paths.map((p) => h('option', { value: p }))); });
        folder.focus();
      },

      // The folders below the roots (GET /folders), relative paths, once per list load; [] when the server has none.
      async folderPaths() {
        if (!this.folderCache || this.folderCache.gen !== this.gen) {
          const load = this.api.get('/folders').then((res) => [...new Set((res.roots || []).flatMap((r) => (r.folders || []).map((f) => f.path)))], () => null);
          this.folderCache = { gen: this.gen, load };
        }
        return (await this.folderCache.load) || [];
      },

      // After an action on a LoRA: its detail follows when it is the one open.
      afterAction(e, updated, message) {
        this.toast(message, 'success');
        if (this.current && this.current.id === e.id) {
          if (updated && updated.id !== undefined) { this.current = updated; this.renderDetail(); } else this.closeDetail();
        }
        this.reload('keep');
      },

      async trash(e) {
        if (!window.confirm(t('trash.confirm', { name: shownName(e) }))) return;
        try { this.afterAction(e, await this.api.del(`/loras/${e.id}`), t('trash.done')); } catch (err) { this.toast(t('trash.failed', { why: err.message }), 'error'); }
      },

      async restore(e) {
        try { this.afterAction(e, await this.api.post(`/loras/${e.id}/restore`), t('restore.done')); } catch (err) { this.toast(t('restore.failed', { why: err.message }), 'error'); }
      },

      async forget(e) {
        try { await this.api.post(`/loras/${e.id}/forget`); this.afterAction(e, null, t('forget.done')); } catch (err) { this.toast(t('forget.failed', { why: err.message }), 'error'); }
      },

      async purge(e) {
        if (!window.confirm(t('purge.confirm', { name: shownName(e) }))) return;
        try { await this.api.del(`/loras/${e.id}?permanent=true`); this.afterAction(e, null, t('purge.done')); } catch (err) { this.toast(t('purge.failed', { why: err.message }), 'error'); }
      },

      editForm(e) {
        const form = h('div', { class: 'lm-form' });
        const status = (field) => h('span', { class: 'lm-saved', dataset: { status: field } });
        const field = (label, input, name) => h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: label }), input, status(name));
        const list = (v) => (v || []).join(', ');
        const parseList = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
        const num = (s) => (s.trim() === '' ? null : Number(s));

        const fav = h('input', { type: 'checkbox', checked: e.favorite, name: 'favorite' });
        fav.addEventListener('change', () => this.saveField(e, 'favorite', fav.checked));
        const rating = h('select', { class: 'lm-select', name: 'rating' }, [0, 1, 2, 3, 4, 5].map((n) => h('option', { value: String(n), text: n ? '★'.repeat(n) : t('form.no_rating') })));
        rating.value = String(e.rating || 0);
        rating.addEventListener('change', () => this.saveField(e, 'rating', Number(rating.value) || null));
        const tags = h('input', { class: 'lm-input', value: list(e.tags), placeholder: t('form.tags_ph'), name: 'tags' });
        tags.addEventListener('change', () => this.saveField(e, 'tags', parseList(tags.value)));
        const triggers = h('input', { class: 'lm-input', value: list(e.triggers), placeholder: t('form.triggers_ph'), name: 'triggers' });
        triggers.addEventListener('change', () => this.saveField(e, 'triggers', triggers.value.trim() ? parseList(triggers.value) : null));
        const weightInput = (name, value) => {
          const el = h('input', { class: 'lm-input lm-num', type: 'number', step: '0.05', min: '-10', max: '10', value: value ?? '', name });
          el.addEventListener('change', () => {
            const v = num(el.value);
            if (v !== null && !Number.isFinite(v)) { this.flash(name, t('edit.nan'), true); return; }
            this.saveField(e, name, v);
          });
          return el;
        };
        const base = h('select', { class: 'lm-select', name: 'base_model' },
          h('option', { value: '', text: t('form.detected', { label: familyLabel(e.base_model_detected) }) }), FAMILIES.map((x) => h('option', { value: x, text: familyLabel(x) })));
        base.value = e.base_model_source === 'user' ? (e.base_model || '') : '';
        base.addEventListener('change', () => this.saveField(e, 'base_model', base.value || null));
        const negative = h('textarea', { class: 'lm-input', rows: '2', name: 'negative_text' }, e.negative_text || '');
        negative.addEventListener('change', () => this.saveField(e, 'negative_text', negative.value || null));
        const notes = h('textarea', { class: 'lm-input', rows: '3', name: 'notes' }, e.notes || '');
        notes.addEventListener('change', () => this.saveField(e, 'notes', notes.value || null));
        // The user's own name for it (a server without display names sends no such field: no input then).
        let display = null;
        if ('display_name' in e) {
          display = h('input', { class: 'lm-input', value: e.display_name || '', placeholder: e.title || e.name, name: 'display_name', title: t('form.display_name_hint') });
          display.addEventListener('change', () => this.saveField(e, 'display_name', display.value.trim() || null));
        }
        append(form,
          display ? field(t('form.display_name'), display, 'display_name') : null,
          h('div', { class: 'lm-formrow' }, field(t('form.favorite'), fav, 'favorite'), field(t('form.rating'), rating, 'rating')),
          field(t('form.tags'), tags, 'tags'),
          field(t('form.triggers'), triggers, 'triggers'),
          h('div', { class: 'lm-formrow' }, field(t('form.weight'), weightInput('preferred_weight', e.preferred_weight), 'preferred_weight'),
            field(t('form.min'), weightInput('weight_min', e.weight_min), 'weight_min'), field(t('form.max'), weightInput('weight_max', e.weight_max), 'weight_max')),
          field(t('form.base'), base, 'base_model'),
          field(t('form.negative'), negative, 'negative_text'),
          field(t('form.notes'), notes, 'notes'),
        );
        return form;
      },

    };
  });
})();
