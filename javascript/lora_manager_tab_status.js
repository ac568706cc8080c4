/* LoRA Manager tab: the header: scan and hashing progress, the Rescan button, and on the standalone page the
 * theme (light, dark, the system's) and language switches, both remembered in this browser.
 *
 * Methods of the library view (javascript/lora_manager_tab.js), added to it when the tab mounts;
 * the helpers they use come from the same place (LM.lib). Library data is set as text only.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  (LM.viewParts = LM.viewParts || []).push((lib) => {
    const { h, t, fmtSize } = lib;
    const THEME = 'lora-manager-theme';
    const dark = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
    const num = (n) => (LM.i18n ? LM.i18n.number(n) : String(n));
    return {
      // Inside the host its own theme and language settings rule: no switches there.
      prefControls() {
        if (this.hostMode) return null;
        const theme = h('select', { class: 'lm-select lm-theme', 'aria-label': t('prefs.theme'), title: t('prefs.theme') },
          ['system', 'light', 'dark'].map((v) => h('option', { value: v, text: t(`prefs.${v}`) })));
        theme.value = localStorage.getItem(THEME) || 'system';
        theme.addEventListener('change', () => { localStorage.setItem(THEME, theme.value); this.applyTheme(); });
        if (dark && dark.addEventListener) dark.addEventListener('change', () => this.applyTheme());
        this.applyTheme();
        const lang = h('select', { class: 'lm-select lm-lang', 'aria-label': t('prefs.language'), title: t('prefs.language') },
          (LM.i18n ? LM.i18n.languages : []).map(([v, label]) => h('option', { value: v, text: label })));
        lang.value = LM.i18n ? LM.i18n.locale : 'en';
        lang.addEventListener('change', () => { LM.i18n.choose(lang.value); window.location.reload(); });
        return h('span', { class: 'lm-prefs' }, theme, lang);
      },

      // The page's theme: gradio's (and so ours) follows a "dark" class on <body>.
      applyTheme() {
        const chosen = localStorage.getItem(THEME) || 'system';
        if (chosen === 'system' && !localStorage.getItem(THEME) && /[?&]__theme=/.test(window.location.search)) return; // the URL asked
        const isDark = chosen === 'dark' || (chosen === 'system' && !!dark && dark.matches);
        document.body.classList.toggle('dark', isDark);
        this.root.classList.toggle('lm-dark', isDark);
      },

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
            parts.push(t('status.scanning', { progress: p.done !== undefined && p.total ? ` ${p.done}/${p.total}` : '' }));
            next = 1500;
          } else {
            parts.push(t('status.indexed', { n: num(sys.library && sys.library.total || 0) }));
          }
          if (hashing.pending_files) {
            parts.push(t('status.hashing', { n: num(hashing.pending_files), size: fmtSize(hashing.pending_bytes) }));
            next = Math.min(next, 3000);
          }
          this.status.textContent = parts.join(' · ');
          this.rescanBtn.disabled = !!running;
          // A scan seen finishing, or counts that moved while we looked away: show the new state.
          // (library_changes: edits and files changed by another host sharing the library; file_changes: files
          // changed here, such as a preview a job wrote)
          const counts = JSON.stringify([sys.library || {}, bg.library_changes || 0, bg.file_changes || 0]);
          const moved = this.lastCounts !== undefined && counts !== this.lastCounts;
          this.lastCounts = counts;
          if ((this.scanWasRunning && !running) || (moved && !running)) {
            this.reload('keep');
            this.loadTags();
            document.dispatchEvent(new CustomEvent('lora-manager:library-changed')); // the prompt autocomplete
          }
          // Several hosts share the library: another host's change shows here within seconds.
          if (bg.shared) next = Math.min(next, 3000);
          this.scanWasRunning = !!running;
        } catch (err) {
          this.status.textContent = err.status === 404 || err.status === 0 ? t('status.starting') : t('status.unavailable', { why: err.message });
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
          this.status.textContent = t('status.scanning', { progress: '' });
          setTimeout(() => this.pollStatus(), 500);
        } catch (err) { this.toast(err.status === 409 ? t('scan.running') : t('scan.refused', { why: err.message }), err.status === 409 ? 'info' : 'error'); }
      },
    };
  });
})();
