/* LoRA Manager: the Data panel — backups and restore, export and import, other tools' sidecars.
 * Every change is shown first as a dry run (what would be restored, added, updated, in conflict);
 * only then does a second button write it. Text from the server is set as text, never as HTML. */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.dataLoaded) return;
  LM.dataLoaded = true;

  const PARTS = ['userdata', 'collections', 'recipes', 'usage', 'settings'];
  const SOURCES = [['sdnext', 'SDNext / A1111 (<name>.json)'], ['lm', 'ComfyUI-Lora-Manager (<name>.metadata.json)'],
    ['civitai-helper', 'Civitai Helper (<name>.civitai.info)']];
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
      this.parts = PARTS.map((p) => h('input', { type: 'checkbox', checked: true, value: p, 'aria-label': `export ${p}` }));
      this.previews = h('input', { type: 'checkbox', 'aria-label': 'include previews' });
      this.exportNote = box();
      // import
      this.file = h('input', { type: 'file', accept: '.zip,application/zip', 'aria-label': 'archive to import' });
      this.policy = h('select', { class: 'lm-select', 'aria-label': 'on conflict' },
        [['keep', 'keep ours'], ['theirs', 'take theirs'], ['merge', 'merge lists and texts']].map(([v, t]) => h('option', { value: v, text: `On conflict: ${t}` })));
      this.importReport = h('div', { class: 'lm-report' });
      this.importApply = btn('Import now', () => this.importArchive(false), 'lm-primary');
      this.importApply.hidden = true;
      // other tools
      this.source = h('select', { class: 'lm-select', 'aria-label': 'other tool' }, SOURCES.map(([v, t]) => h('option', { value: v, text: t })));
      this.peerReport = h('div', { class: 'lm-report' });
      this.peerApply = btn('Import now', () => this.importPeers(false), 'lm-primary');
      this.peerApply.hidden = true;
      this.sidecarNote = box();
      this.element = h('div', { class: 'lm-data-panel' },
        h('h4', { text: 'Backups' }), this.backupInfo,
        h('div', { class: 'lm-actions' }, btn('Back up now', () => this.backupNow())), this.backupNote, this.backupList,
        h('h4', { text: 'Export' }),
        h('div', { class: 'lm-formrow' }, this.parts.map((c) => h('label', { class: 'lm-inline' }, c, ` ${c.value}`)),
          h('label', { class: 'lm-inline' }, this.previews, ' previews')),
        h('div', { class: 'lm-actions' }, btn('Download export', () => this.exportArchive())), this.exportNote,
        h('h4', { text: 'Import an export' }),
        h('div', { class: 'lm-formrow' }, this.file, this.policy),
        h('div', { class: 'lm-actions' }, btn('Check (dry run)', () => this.importArchive(true)), this.importApply), this.importReport,
        h('h4', { text: 'From other tools' }),
        h('div', { class: 'lm-label', text: 'Reads what another tool wrote beside your LoRAs into your own data.' }),
        h('div', { class: 'lm-formrow' }, this.source),
        h('div', { class: 'lm-actions' }, btn('Check (dry run)', () => this.importPeers(true)), this.peerApply), this.peerReport,
        h('h4', { text: 'Sidecars for other tools' }),
        h('div', { class: 'lm-label', text: 'Writes your trigger words, preferred weight, notes and negative text into each LoRA\'s <name>.json (SDNext / A1111 user metadata), keeping every other key.' }),
        h('div', { class: 'lm-actions' }, btn('Count what would change', () => this.writeSidecars(true)), btn('Write all', () => this.writeSidecars(false))),
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
      try { data = await this.api.get('/backups'); } catch (err) { this.say(this.backupNote, `Backups unavailable: ${err.message}`, true); return; }
      const { h, clear, fmtSize } = LM;
      this.backupInfo.textContent = `In ${data.folder} (${data.kind}); kept: every one of the last 24 h, the newest of ${data.keep[0]} days and of ${data.keep[1]} weeks.`;
      clear(this.backupList);
      if (!data.items.length) { this.backupList.append(h('div', { class: 'lm-muted', text: 'No backups yet.' })); return; }
      const rows = data.items.map((b) => h('tr', { dataset: { name: b.name } },
        h('td', { text: when(b.created) }), h('td', { text: b.reason || '?' }), h('td', { text: fmtSize(b.size) }),
        h('td', { text: b.counts && b.counts.loras !== undefined ? `${b.counts.loras} LoRAs` : '' }),
        h('td', {}, h('button', { class: 'lm-btn', type: 'button', text: 'Restore…', onclick: () => this.restore(b.name, true) }))));
      this.backupList.append(h('table', { class: 'lm-atable' },
        h('thead', {}, h('tr', {}, ['Taken (UTC)', 'Why', 'Size', 'Library', ''].map((t) => h('th', { text: t })))), h('tbody', {}, rows)));
    }

    async backupNow() {
      try {
        const b = await this.api.post('/backups');
        this.say(this.backupNote, `Backup taken: ${b.name}`);
      } catch (err) { this.say(this.backupNote, `Backup failed: ${err.message}`, true); }
      this.load();
    }

    async restore(name, dryRun) {
      let r;
      try { r = await this.api.post('/backups/restore', { name, dry_run: dryRun }); } catch (err) { this.say(this.backupNote, `Restore refused: ${err.message}`, true); return; }
      const counts = (c) => Object.entries(c || {}).map(([k, v]) => `${k} ${v}`).join(', ');
      if (!dryRun) {
        this.say(this.backupNote, `Restored ${name}. The database as it was is kept as ${r.kept_as}.`);
        this.app.reload && this.app.reload('restore');
        this.load();
        return;
      }
      const { h } = LM;
      this.say(this.backupNote, `Restore ${name}? Backup: ${counts(r.backup_counts)}. Now: ${r.current_ok ? counts(r.current_counts) : `damaged (${r.current_problem})`}. `
        + `The current database will be kept as ${r.kept_as}.${r.migrates ? ' The backup is of an older schema and will be migrated.' : ''}`);
      this.backupNote.append(' ', h('button', { class: 'lm-btn lm-danger', type: 'button', text: 'Restore now', onclick: () => this.restore(name, false) }));
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
      if (!what.length) { this.say(this.exportNote, 'Pick at least one part', true); return; }
      this.say(this.exportNote, 'Exporting…');
      try {
        const res = await this.raw('/export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ what, include_previews: this.previews.checked }) });
        const blob = await res.blob();
        const url = URL.createObjectURL(blob);
        const a = LM.h('a', { href: url, download: 'lora-manager-export.zip' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        this.say(this.exportNote, `Exported (${LM.fmtSize(blob.size)})`);
      } catch (err) { this.say(this.exportNote, `Export failed: ${err.message}`, true); }
    }

    // ----- import -----
    async importArchive(dryRun) {
      const file = this.file.files && this.file.files[0];
      if (!file) { this.showReport(this.importReport, null, 'Choose an archive first'); return; }
      const q = new URLSearchParams({ dry_run: String(dryRun), on_conflict: this.policy.value });
      this.showReport(this.importReport, null, dryRun ? 'Checking…' : 'Importing…');
      try {
        const res = await this.raw(`/import?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/zip' }, body: file });
        const report = await res.json();
        this.showReport(this.importReport, report);
        this.importApply.hidden = !dryRun || !this.pending(report);
        if (!dryRun) this.app.reload && this.app.reload('import');
      } catch (err) { this.importApply.hidden = true; this.showReport(this.importReport, null, `Refused: ${err.message}`, true); }
    }

    async importPeers(dryRun) {
      this.showReport(this.peerReport, null, dryRun ? 'Checking…' : 'Importing…');
      try {
        const report = await this.api.post('/import/sidecars', { source: this.source.value, dry_run: dryRun, on_conflict: this.policy.value });
        this.showReport(this.peerReport, report);
        this.peerApply.hidden = !dryRun || !this.pending(report);
        if (!dryRun) this.app.reload && this.app.reload('import');
      } catch (err) { this.peerApply.hidden = true; this.showReport(this.peerReport, null, `Refused: ${err.message}`, true); }
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
      const head = r.dry_run ? 'Dry run — nothing written.' : (r.written ? `Written${r.backup ? `; a backup was taken first (${r.backup})` : ''}.` : 'Nothing to write: the library already holds all of it.');
      el.append(h('div', { class: 'lm-message lm-info', text: `${head} LoRAs: ${c.added} added, ${c.updated} updated, ${c.conflicting} conflicting, ${c.unchanged} unchanged, ${c.unmatched} unmatched.` }));
      const items = r.loras.filter((x) => x.status !== 'unchanged');
      const list = h('ul', { class: 'lm-reportlist' });
      for (const x of items.slice(0, SHOWN)) {
        const li = h('li', { class: `lm-report-${x.status}` }, h('b', { text: x.status }), ` ${x.local || x.lora}`);
        for (const [f, ch] of Object.entries(x.changes || {})) li.append(h('div', { class: 'lm-muted', text: `${f}: ${JSON.stringify(ch.from)} → ${JSON.stringify(ch.to)}` }));
        for (const [f, cf] of Object.entries(x.conflicts || {})) li.append(h('div', { class: 'lm-muted', text: `conflict ${f}: ours ${JSON.stringify(cf.ours)}, theirs ${JSON.stringify(cf.theirs)}; kept ${cf.kept}` }));
        list.append(li);
      }
      if (items.length > SHOWN) list.append(h('li', { class: 'lm-muted', text: `… and ${items.length - SHOWN} more` }));
      el.append(list);
      for (const col of r.collections || []) el.append(h('div', { class: 'lm-muted', text: `collection ${col.name}: ${col.status} (${col.members} LoRAs${col.unmatched ? `, ${col.unmatched} unmatched` : ''})` }));
      if (r.usage) el.append(h('div', { class: 'lm-muted', text: `usage: ${r.usage.events} generations, ${r.usage.added} new, ${r.usage.present} already recorded` }));
      if (r.previews) el.append(h('div', { class: 'lm-muted', text: `previews: ${r.previews.added} new, ${r.previews.present} already there (never replaced)` }));
      if (r.recipes) el.append(h('div', { class: 'lm-muted', text: `recipes: ${r.recipes.added} new, ${r.recipes.present} already here, ${r.recipes.updated} updated, ${r.recipes.conflicting} conflicting (ours kept); their LoRAs: ${r.recipes.loras_by_hash} found by hash, ${r.recipes.loras_missing} not in this library` }));
      for (const p of r.problems || []) el.append(h('div', { class: 'lm-message lm-error', text: `${p.path}: ${p.problem}` }));
    }

    async writeSidecars(dryRun) {
      try {
        const r = await this.api.post('/sidecars/write', { dry_run: dryRun });
        this.say(this.sidecarNote, `${dryRun ? 'Would write' : 'Wrote'} ${r.written} file(s); ${r.unchanged} unchanged; ${r.skipped} skipped`
          + (r.problems.length ? ` (${r.problems.slice(0, 3).map((p) => `${p.path}: ${p.reason}`).join('; ')})` : ''), r.skipped > 0);
      } catch (err) { this.say(this.sidecarNote, `Not written: ${err.message}`, true); }
    }
  }

  // added when the tab mounts (lora_manager_tab.js)
  (LM.panelFactories = LM.panelFactories || []).push((app) => {
    const panel = new DataPanel(app);
    LM.data = panel;
    app.addPanel('data', 'Data', panel.element, () => panel.load());
  });
})();
