/* LoRA Manager: set or replace a LoRA's preview from its detail panel — an image file, an image pasted
 * from the clipboard, or an image of a finished job (PUT /loras/{key}/preview with the image as the body,
 * POST /loras/{key}/preview/from-job). The server writes it beside the file as the host names previews.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.previewSetLoaded) return;
  LM.previewSetLoaded = true;
  const t = (key, vars) => LM.t(key, vars);
  const TYPES = ['image/png', 'image/jpeg', 'image/webp'];
  const MAX_BYTES = 20 * 1024 * 1024;

  // The raw-body PUT (the view's API helper sends JSON only).
  async function putImage(view, id, blob, replace) {
    const auth = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
    let res;
    try {
      res = await window.fetch(view.api.url(`/loras/${id}/preview?replace=${replace ? 'true' : 'false'}`), {
        method: 'PUT', credentials: 'same-origin', body: blob, headers: { Accept: 'application/json', 'Content-Type': blob.type, ...auth },
      });
    } catch (err) { throw new LM.lib.ApiError(0, 'network', t('api.no_answer', { why: err.message })); }
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new LM.lib.ApiError(res.status, e.code || String(res.status), e.message || (data && data.detail) || res.statusText);
    }
    return data;
  }

  // The browser keeps preview images for an hour: fetch this LoRA's again so that the cards show the new one.
  async function refreshCached(view, entry) {
    const auth = typeof LM.authHeaders === 'function' ? await LM.authHeaders() : {};
    const n = (entry.previews || []).length + 1;
    for (let i = 0; i < n; i++) {
      try { await window.fetch(view.api.url(`/loras/${entry.id}/previews/${i}`), { cache: 'reload', credentials: 'same-origin', headers: auth }); } catch (err) { /* shown as before */ }
    }
  }

  // Send once without replacing; a preview already there (409) is replaced only when the user agrees.
  async function setPreview(view, entry, send) {
    try {
      await send(false);
    } catch (err) {
      if (err.status !== 409) { view.toast(t('preview.not_set', { why: err.message }), 'error'); return false; }
      if (!window.confirm(t('preview.replace'))) return false;
      try { await send(true); } catch (err2) {
        view.toast(t('preview.not_set', { why: err2.message }), 'error');
        return false;
      }
    }
    view.toast(t('preview.set'), 'info');
    await refreshCached(view, entry);
    await view.reload('keep');
    if (view.current && view.current.id === entry.id) view.openDetail(entry.id);
    return true;
  }

  function checkImage(view, blob) {
    if (!blob) return false;
    if (!TYPES.includes(blob.type)) { view.toast(t('preview.bad_type'), 'error'); return false; }
    if (blob.size > MAX_BYTES) { view.toast(t('preview.too_big'), 'error'); return false; }
    return true;
  }

  function fromBlob(view, entry, blob) {
    if (!checkImage(view, blob)) return;
    setPreview(view, entry, (replace) => putImage(view, entry.id, blob, replace));
  }

  // The images of finished jobs, newest first, to pick one.
  async function jobPicker(view, entry, box) {
    const { h, clear } = LM;
    const list = h('div', { class: 'lm-previews lm-jobpick' }, h('span', { class: 'lm-muted', text: t('preview.looking') }));
    box.append(list);
    let jobs;
    try { jobs = await view.api.get('/jobs'); } catch (err) {
      clear(list).append(h('span', { class: 'lm-muted', text: t('preview.no_jobs', { why: err.message }) }));
      return;
    }
    const done = (Array.isArray(jobs) ? jobs : []).filter((j) => j.status === 'done' && j.result && Array.isArray(j.result.images) && j.result.images.length);
    clear(list);
    if (!done.length) { list.append(h('span', { class: 'lm-muted', text: t('preview.no_images') })); return; }
    for (const j of done.slice(0, 20)) {
      j.result.images.forEach((_, i) => {
        const img = LM.authImage(view.api.url(`/jobs/${encodeURIComponent(j.id)}/images/${i}`), 'lm-preview');
        const pick = h('button', { class: 'lm-jobimg', type: 'button', title: t('preview.use', { what: j.prompt || j.id }), dataset: { job: j.id, index: String(i) } }, img);
        pick.addEventListener('click', () => setPreview(view, entry,
          (replace) => view.api.post(`/loras/${entry.id}/preview/from-job`, { job_id: j.id, index: i, replace })));
        list.append(pick);
      });
    }
  }

  function openBox(view, entry, button) {
    const { h } = LM;
    const old = view.detail.querySelector('.lm-setpreview');
    if (old) { old.remove(); return; }
    const file = h('input', { type: 'file', accept: TYPES.join(','), class: 'lm-previewfile', 'aria-label': t('preview.file') });
    file.addEventListener('change', () => fromBlob(view, entry, file.files && file.files[0]));
    const paste = h('div', { class: 'lm-pastezone', tabindex: '0', role: 'button', text: t('preview.paste_here') });
    paste.addEventListener('paste', (ev) => {
      const items = [...((ev.clipboardData && ev.clipboardData.items) || [])];
      const item = items.find((it) => it.kind === 'file' && it.type.startsWith('image/'));
      ev.preventDefault();
      if (!item) { view.toast(t('preview.no_image'), 'error'); return; }
      fromBlob(view, entry, item.getAsFile());
    });
    const box = h('div', { class: 'lm-setpreview' },
      h('label', { class: 'lm-field' }, h('span', { class: 'lm-label', text: t('preview.upload') }), file),
      paste,
      h('button', { class: 'lm-btn', type: 'button', text: t('preview.from_job'),
        onclick: (ev) => { ev.target.disabled = true; jobPicker(view, entry, box); } }));
    button.after(box);
    paste.focus();
  }

  (LM.detailActions = LM.detailActions || []).push((view, entry, bar) => {
    if (!bar || entry.state !== 'ok') return;
    const has = (entry.previews || []).length > 0;
    const btn = LM.h('button', { class: 'lm-btn lm-setpreview-btn', type: 'button',
      text: has ? t('preview.replace_btn') : t('preview.set_btn'),
      onclick: () => openBox(view, entry, bar) });
    bar.append(btn);
  });
})();
