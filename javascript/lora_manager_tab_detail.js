/* LoRA Manager tab: saving edits, and the detail panel of one LoRA (previews, hashes, metadata, actions, edit form).
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, clear, append, fmtSize, fmtDate, familyLabel, badge, loraTag, previewImage, FAMILIES } = lib;
    return {
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
      },

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
        try { entry = await this.api.get(`/loras/${id}`); } catch (err) { this.toast(err.message, 'error'); return; }
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
      },

      previewStrip(e) {
        const n = (e.previews || []).length;
        if (!n && !e.cover) return h('div', { class: 'lm-previews lm-noimg', text: 'no preview' });
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
          ['SHA-256 (full file)', e.sha256 || (e.hash_state === 'pending' ? 'hashing…' : e.hash_error || '')],
          ['AutoV2 (Civitai)', e.autov2],
          ['Tensor SHA-256 (addnet)', e.tensor_sha256],
          ['AutoV3', e.autov3],
          ['SDNext short hash', e.sdnext_hash],
          ['Legacy (A1111 old)', e.legacy_hash],
          ['Tensor hash source', e.tensor_hash_source],
        ], true);
      },

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
        this.toast('Copied', 'info');
      },

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
      },
      sendToPromptPublic(tab, text) { this.sendToPrompt(tab, text); },

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
      },

      async trash(e) {
        if (!window.confirm(`Move “${e.name}” to the trash? It can be restored.`)) return;
        try {
          const t = await this.api.del(`/loras/${e.id}`);
          this.current = t;
          this.toast('Moved to the trash', 'info');
          this.renderDetail();
          this.reload('keep');
        } catch (err) { this.toast(`Not deleted: ${err.message}`, 'error'); }
      },

      async restore(e) {
        try {
          this.current = await this.api.post(`/loras/${e.id}/restore`);
          this.toast('Restored', 'info');
          this.renderDetail();
          this.reload('keep');
        } catch (err) { this.toast(`Not restored: ${err.message}`, 'error'); }
      },

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
      },

    };
  });
})();
