/* LoRA Manager tab: the status line: scan and hashing progress, and the Rescan button.
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { fmtSize } = lib;
    return {
      // ----- scan / hash status -----
      async pollStatus() {
        let next = 15000;
        // In the host our tab sits hidden behind the others most of the time: look rarely then.
        if (this.root.offsetParent === null && !this.scanWasRunning && this.total) {
          clearTimeout(this.pollTimer);
          this.pollTimer = setTimeout(() => this.pollStatus(), 5000);
          return;
        }
        try {
          const sys = await this.api.get('/system');
          const bg = sys.background || {};
          const scan = bg.scan || {};
          const hashing = bg.hashing || {};
          const parts = [];
          const running = scan.state === 'running' || scan.running;
          if (running) {
            const p = scan.progress || {};
            parts.push(`Scanning${p.done !== undefined && p.total ? ` ${p.done}/${p.total}` : ''}…`);
            next = 1500;
          } else {
            parts.push(`${(sys.library && sys.library.total || 0).toLocaleString()} files indexed`);
          }
          if (hashing.pending_files) {
            parts.push(`hashing: ${hashing.pending_files.toLocaleString()} left (${fmtSize(hashing.pending_bytes)})`);
            next = Math.min(next, 3000);
          }
          this.status.textContent = parts.join(' · ');
          this.rescanBtn.disabled = !!running;
          // A scan seen finishing, or counts that moved while we looked away: show the new state.
          // (library_changes: edits and files changed by another host sharing the library)
          const counts = JSON.stringify([sys.library || {}, bg.library_changes || 0]);
          const moved = this.lastCounts !== undefined && counts !== this.lastCounts;
          this.lastCounts = counts;
          if ((this.scanWasRunning && !running) || (moved && !running)) { this.reload('keep'); this.loadTags(); }
          this.scanWasRunning = !!running;
        } catch (err) {
          this.status.textContent = err.status === 404 || err.status === 0 ? 'LoRA Manager is starting…' : `Status unavailable: ${err.message}`;
          next = 3000;
          if (this.total === 0 && (err.status === 404 || err.status === 0)) this.retryFirst = true;
        }
        if (this.retryFirst && next <= 3000) { this.retryFirst = false; this.reload('first'); }
        clearTimeout(this.pollTimer);
        this.pollTimer = setTimeout(() => this.pollStatus(), document.hidden ? Math.max(next, 30000) : next);
      },

      async rescan() {
        try {
          await this.api.post('/scans', {});
          this.scanWasRunning = true;
          this.status.textContent = 'Scanning…';
          setTimeout(() => this.pollStatus(), 500);
        } catch (err) { this.toast(err.status === 409 ? 'A scan is already running' : `No scan: ${err.message}`, err.status === 409 ? 'info' : 'error'); }
      },
    };
  });
})();
