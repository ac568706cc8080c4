/* LoRA Manager: the Data panel — backups and restore, export and import, other tools' sidecars.
 * Every change is shown first as a dry run (what would be restored, added, updated, in conflict);
 * only then does a second button write it. Text from the server is set as text, never as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.dataLoaded) return;
  LM.dataLoaded = true;
  const t = (key, vars) => LM.t(key, vars);
  // A word the server sends (a part, a report's status, a backup's reason) in the reader's words when the table has it.
  function word(prefix, w) { const k = `${prefix}${String(w).replace(/-/g, '_')}`; const v = t(k); return v === k ? w : v; }

  const PARTS = ['userdata', 'collections', 'recipes', 'usage', 'settings'];
  const SOURCES = [['sdnext', 'SDNext / A1111 (<name>.json)'], ['lm', 'ComfyUI-Lora-Manager (<name>.metadata.json)'],
    ['civitai-helper', 'Civitai Helper (<name>.civitai.info)']]; // names of tools and files: the same in every language
  const SHOWN = 200; // LoRA lines of a report drawn at most (the counts cover every one)

  const when = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) : '?');

  class DataPanel {
    constructor(app) {
      this.app = app;
      this.api = app.api;
      const { h } = LM;
      const btn = (text, fn, cls) => h('button', { class: `lm-btn${cls ? ` ${cls}` : ''}`, type: 'button', text, onclick: fn });
      const box = () => h('div', { class: 'lm-message lm-info', hidden: true });
      // backups
      this.backupInfo = h('div', { class: 'lm-label' });
      this.backupList = h('div', { class: 'lm-backups' });
      this.backupNote = box();
      // export
      this.parts = PARTS.map((p) => h('input', { type: 'checkbox', checked: true, value: p, 'aria-label': t('data.export_part', { part: word('data.part_', p) }) }));
      this.previews = h('input', { type: 'checkbox', 'aria-label': t('data.include_previews') });
      this.exportNote = box();
      // import
      this.file = h('input', { type: 'file', accept: '.zip,application/zip', 'aria-label': t('data.archive') });
      this.policy = h('select', { class: 'lm-select', 'aria-label': t('data.on_conflict') },
        ['keep', 'theirs', 'merge'].map((v) => h('option', { value: v, text: t(`data.conflict_${v}`) })));
      this.importReport = h('div', { class: 'lm-report' });
      this.importApply = btn(t('data.import_now'), () => this.importArchive(false), 'lm-primary');
      this.importApply.hidden = true;
      // other tools
      this.source = h('select', { class: 'lm-select', 'aria-label': t('data.other_tool') }, SOURCES.map(([v, text]) => h('option', { value: v, text })));
      this.peerReport = h('div', { class: 'lm-report' });
      this.peerApply = btn(t('data.import_now'), () => this.importPeers(false), 'lm-primary');
      this.peerApply.hidden = true;
      this.sidecarNote = box();
      this.element = h('div', { class: 'lm-data-panel' },
        h('h4', { text: t('data.backups') }), this.backupInfo,
        h('div', { class: 'lm-actions' }, btn(t('data.backup_now'), () => this.backupNow())), this.backupNote, this.backupList,
        h('h4', { text: t('data.export') }),
        h('div', { class: 'lm-formrow' }, this.parts.map((c) => h('label', { class: 'lm-inline' }, c, ` ${word('data.part_', c.value)}`)),
          h('label', { class: 'lm-inline' }, this.previews, ` ${t('data.previews')}`)),
        h('div', { class: 'lm-actions' }, btn(t('data.download_export'), () => this.exportArchive())), this.exportNote,
        h('h4', { text: t('data.import_title') }),
        h('div', { class: 'lm-formrow' }, this.file, this.policy),
        h('div', { class: 'lm-actions' }, btn(t('data.dry_run'), () => this.importArchive(true)), this.importApply), this.importReport,
        h('h4', { text: t('data.other_tools') }),
        h('div', { class: 'lm-label', text: t('data.other_tools_hint') }),
        h('div', { class: 'lm-formrow' }, this.source),
        h('div', { class: 'lm-actions' }, btn(t('data.dry_run'), () => this.importPeers(true)), this.peerApply), this.peerReport,
        h('h4', { text: t('data.sidecars') }),
        h('div', { class: 'lm-label', text: t('data.sidecars_hint') }),
        h('div', { class: 'lm-actions' }, btn(t('data.count_changes'), () => this.writeSidecars(true)), btn(t('data.write_all'), () => this.writeSidecars(false))),
        this.sidecarNote);
    }

    say(el, text, bad) {
      el.hidden = false;
      el.className = `lm-message ${bad ? 'lm-error' : 'lm-info'}`;
      el.textContent = text;
    }

    // ----- backups -----
    async load() {
      let data;
      try { data = await this.api.get('/backups'); } catch (err) { this.say(this.backupNote, t('data.backups_unavailable', { why: err.message }), true); return; }
      const { h, clear, fmtSize } = LM;
      this.backupInfo.textContent = t('data.backup_info', { folder: data.folder, kind: data.kind, days: data.keep[0], weeks: data.keep[1] });
      clear(this.backupList);
      if (!data.items.length) { this.backupList.append(h('div', { class: 'lm-muted', text: t('data.no_backups') })); return; }
      const rows = data.items.map((b) => h('tr', { dataset: { name: b.name } },
        h('td', { text: when(b.created) }), h('td', { text: b.reason ? word('data.reason_', b.reason) : '?' }), h('td', { text: fmtSize(b.size) }),
        h('td', { text: b.counts && b.counts.loras !== undefined ? t('count.other', { n: b.counts.loras }) : '' }),
        h('td', {}, h('button', { class: 'lm-btn', type: 'button', text: t('data.restore_dots'), onclick: () => this.restore(b.name, true) }))));
      this.backupList.append(h('table', { class: 'lm-atable' },
        h('thead', {}, h('tr', {}, [t('data.taken'), t('data.why'), t('file.size'), t('nav.library'), ''].map((text) => h('th', { text })))), h('tbody', {}, rows)));
    }

    async backupNow() {
      try {
        const b = await this.api.post('/backups');
        this.say(this.backupNote, t('data.backup_taken', { name: b.name }));
      } catch (err) { this.say(this.backupNote, t('data.backup_failed', { why: err.message }), true); }
      this.load();
    }

    async restore(name, dryRun) {
      let r;
      try { r = await this.api.post('/backups/restore', { name, dry_run: dryRun }); } catch (err) { this.say(this.backupNote, t('data.restore_refused', { why: err.message }), true); return; }
      const counts = (c) => Object.entries(c || {}).map(([k, v]) => `${word('data.part_', k)} ${v}`).join(', ');
      if (!dryRun) {
        this.say(this.backupNote, t('data.restored', { name, kept: r.kept_as }));
        this.app.reload && this.app.reload('restore');
        this.load();
        return;
      }
      const { h } = LM;
      const now = r.current_ok ? counts(r.current_counts) : t('data.damaged', { why: r.current_problem });
      this.say(this.backupNote, t('data.restore_ask', { name, backup: counts(r.backup_counts), now, kept: r.kept_as })
        + (r.migrates ? ` ${t('data.migrates')}` : ''));
      this.backupNote.append(' ', h('button', { class: 'lm-btn lm-danger', type: 'button', text: t('data.restore_now'), onclick: () => this.restore(name, false) }));
    }

    // ----- export -----
    async raw(path, options) {
      const auth = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
      const res = await window.fetch(this.api.url(path), { credentials: 'same-origin', ...options, headers: { ...auth, ...(options.headers || {}) } });
      if (!res.ok) {
        const data = await res.json().catch(() => null);
        throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
      }
      return res;
    }

    async exportArchive() {
      const what = this.parts.filter((c) => c.checked).map((c) => c.value);
      if (!what.length) { this.say(this.exportNote, t('data.pick_part'), true); return; }
      this.say(this.exportNote, t('data.exporting'));
      try {
        const res = await this.raw('/export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ what, include_previews: this.previews.checked }) });
        const blob = await res.blob();
        const url = URL.createObjectURL(blob);
        const a = LM.h('a', { href: url, download: 'lora-manager-export.zip' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        this.say(this.exportNote, t('data.exported', { size: LM.fmtSize(blob.size) }));
      } catch (err) { this.say(this.exportNote, t('an.export_failed', { why: err.message }), true); }
    }

    // ----- import -----
    async importArchive(dryRun) {
      const file = this.file.files && this.file.files[0];
      if (!file) { this.showReport(this.importReport, null, t('data.choose_archive')); return; }
      const q = new URLSearchParams({ dry_run: String(dryRun), on_conflict: this.policy.value });
      this.showReport(this.importReport, null, dryRun ? t('data.checking') : t('data.importing'));
      try {
        const res = await this.raw(`/import?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/zip' }, body: file });
        const report = await res.json();
        this.showReport(this.importReport, report);
        this.importApply.hidden = !dryRun || !this.pending(report);
        if (!dryRun) this.app.reload && this.app.reload('import');
      } catch (err) { this.importApply.hidden = true; this.showReport(this.importReport, null, t('data.refused', { why: err.message }), true); }
    }

    async importPeers(dryRun) {
      this.showReport(this.peerReport, null, dryRun ? t('data.checking') : t('data.importing'));
      try {
        const report = await this.api.post('/import/sidecars', { source: this.source.value, dry_run: dryRun, on_conflict: this.policy.value });
        this.showReport(this.peerReport, report);
        this.peerApply.hidden = !dryRun || !this.pending(report);
        if (!dryRun) this.app.reload && this.app.reload('import');
      } catch (err) { this.peerApply.hidden = true; this.showReport(this.peerReport, null, t('data.refused', { why: err.message }), true); }
    }

    pending(r) {
      const c = r.counts;
      return c.added + c.updated > 0 || (r.loras || []).some((x) => x.changes) || (r.collections || []).some((x) => x.status === 'added' || x.status === 'updated')
        || (r.usage && r.usage.added > 0) || (r.previews && r.previews.added > 0)
        || (r.recipes && r.recipes.added + r.recipes.updated > 0);
    }

    showReport(el, r, message, bad) {
      const { h, clear } = LM;
      clear(el);
      if (!r) { el.append(h('div', { class: `lm-message ${bad ? 'lm-error' : 'lm-info'}`, text: message })); return; }
      const c = r.counts;
      const written = r.backup ? t('data.written_backup', { backup: r.backup }) : t('data.written');
      const head = r.dry_run ? t('data.dry_head') : (r.written ? written : t('data.nothing_to_write'));
      el.append(h('div', { class: 'lm-message lm-info', text: `${head} ${t('data.counts', c)}` }));
      const items = r.loras.filter((x) => x.status !== 'unchanged');
      const list = h('ul', { class: 'lm-reportlist' });
      for (const x of items.slice(0, SHOWN)) {
        const li = h('li', { class: `lm-report-${x.status}` }, h('b', { text: word('data.status_', x.status) }), ` ${x.local || x.lora}`);
        for (const [f, ch] of Object.entries(x.changes || {})) li.append(h('div', { class: 'lm-muted', text: `${f}: ${JSON.stringify(ch.from)} → ${JSON.stringify(ch.to)}` }));
        for (const [f, cf] of Object.entries(x.conflicts || {})) li.append(h('div', { class: 'lm-muted', text: t('data.conflict', { field: f, ours: JSON.stringify(cf.ours), theirs: JSON.stringify(cf.theirs), kept: cf.kept }) }));
        list.append(li);
      }
      if (items.length > SHOWN) list.append(h('li', { class: 'lm-muted', text: t('data.more', { n: items.length - SHOWN }) }));
      el.append(list);
      for (const col of r.collections || []) el.append(h('div', { class: 'lm-muted', text: t(col.unmatched ? 'data.collection_unmatched' : 'data.collection', { name: col.name, status: word('data.status_', col.status), n: col.members, unmatched: col.unmatched }) }));
      if (r.usage) el.append(h('div', { class: 'lm-muted', text: t('data.usage', { events: r.usage.events, added: r.usage.added, present: r.usage.present }) }));
      if (r.previews) el.append(h('div', { class: 'lm-muted', text: t('data.previews_report', { added: r.previews.added, present: r.previews.present }) }));
      if (r.recipes) el.append(h('div', { class: 'lm-muted', text: t('data.recipes_report', { added: r.recipes.added, present: r.recipes.present, updated: r.recipes.updated, conflicting: r.recipes.conflicting, by_hash: r.recipes.loras_by_hash, missing: r.recipes.loras_missing }) }));
      for (const p of r.problems || []) el.append(h('div', { class: 'lm-message lm-error', text: `${p.path}: ${p.problem}` }));
    }

    async writeSidecars(dryRun) {
      try {
        const r = await this.api.post('/sidecars/write', { dry_run: dryRun });
        this.say(this.sidecarNote, t(dryRun ? 'data.would_write' : 'data.wrote', { n: r.written, unchanged: r.unchanged, skipped: r.skipped })
          + (r.problems.length ? ` (${r.problems.slice(0, 3).map((p) => `${p.path}: ${p.reason}`).join('; ')})` : ''), r.skipped > 0);
      } catch (err) { this.say(this.sidecarNote, t('data.not_written', { why: err.message }), true); }
    }
  }

  // added when the tab mounts (lora_manager_tab.js)
  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new DataPanel(app);
    LM.data = panel;
    app.addPanel('data', t('data.tab'), panel.element, () => panel.load());
  });
})();
