/*
 * LoRA Manager: prompt autocomplete.
 *
 * In the host's prompt boxes, typing `<lora:` or two letters of a LoRA's name,
 * title, alias, trigger word or tag lists matching LoRAs; choosing one writes
 * `<lora:PROMPT_NAME:WEIGHT>` (the name the host resolves, never the alias).
 *
 * - The index comes from GET /lora-manager/v1/autocomplete once, then is asked
 *   again with If-None-Match (a 304 while nothing changed) every minute while
 *   the page is visible and when the window gets focus.
 * - Search runs on a sorted key table built once: every keystroke is a binary
 *   search plus a walk over the matching keys' postings (no scan of the library).
 * - Keys are handled only while our list is open, in the capture phase, and only
 *   those we use are stopped, so the host's own autocomplete keeps working.
 * - Library text is untrusted: everything is rendered with textContent.
 *
 * Works without the host's helpers (onUiLoaded, gradioApp, opts): events are
 * delegated from the window, so prompt boxes that appear later are covered.
 */
(function () {
  'use strict';

  if (window.loraManagerAutocomplete) return; // loaded twice (host reload)

  var API = '/lora-manager/v1';
  var BOXES = ['txt2img_prompt', 'txt2img_neg_prompt', 'img2img_prompt', 'img2img_neg_prompt', 'control_prompt', 'control_neg_prompt'];
  var BOX_SELECTOR = BOXES.map(function (id) { return '#' + id + ' textarea'; }).join(', ') + ', textarea[data-lora-manager-autocomplete]';
  var LIMIT = 20;
  var POLL_MS = 60000;
  var FOCUS_MIN_MS = 5000;

  var state = {
    index: null, // prepared index (see prepare)
    version: null,
    loading: null,
    lastCheck: 0,
    ta: null, // the textarea the list belongs to
    ctx: null, // the text range being completed
    results: [],
    active: 0,
    list: null,
    suppress: false,
    lastSearchMs: 0,
  };

  // ------------------------------------------------------------------ settings

  function hostOpts() {
    try {
      // a global declared with let/var by the host page, or a property of window
      // eslint-disable-next-line no-undef
      if (typeof opts !== 'undefined' && opts) return opts;
    } catch (e) { /* not declared */ }
    return window.opts || {};
  }

  function setting(key, fallback) {
    var o = hostOpts();
    var v = o[key];
    return v === undefined || v === null || v === '' ? fallback : v;
  }

  function enabled() { return setting('lora_manager_autocomplete', true) !== false; }

  function apiBase() {
    if (typeof window.loraManagerApiBase === 'string') return window.loraManagerApiBase.replace(/\/+$/, '');
    if (typeof window.subpath === 'string') return window.subpath.replace(/\/+$/, '') + API; // SDNext
    var root = window.gradio_config && window.gradio_config.root;
    var path = '';
    if (typeof root === 'string' && root) {
      try { path = new URL(root, window.location.href).pathname.replace(/\/+$/, ''); } catch (e) { path = ''; }
    }
    return path + API;
  }

  function requestHeaders() {
    var h = {};
    if (typeof window.loraManagerApiKey === 'string' && window.loraManagerApiKey) h['X-API-Key'] = window.loraManagerApiKey;
    return h;
  }

  // ------------------------------------------------------------------ index

  // lora_manager_autocomplete_index.js (loaded with this file, used once the page is ready)
  function IDX() { return window.loraManagerAutocompleteIndex; }
  function normalize(text) { return IDX().normalize(text); }
  function prepare(payload, done, sync) { return IDX().prepare(payload, done, sync); }

  /** LoRAs matching `query`, best first (see the index file); timed for the tests and benchmarks. */
  function search(query, options) {
    var idx = state.index;
    if (!idx) return [];
    var t0 = performance.now();
    var limit = (options && options.limit) || LIMIT;
    var hide = setting('lora_manager_autocomplete_incompatible', 'mark') === 'hide';
    var out = IDX().search(idx, query, limit, hide);
    state.lastSearchMs = performance.now() - t0;
    return out;
  }

  /** Use `payload` (the route's JSON) as the index; resolves once it is prepared. */
  function setIndex(payload, sync) {
    return new Promise(function (resolve) {
      prepare(payload, function (idx) {
        state.index = idx;
        state.version = payload.version;
        resolve(idx);
      }, sync);
    });
  }

  /** Load the index, or check it is current (304). Resolves to the prepared index or null. */
  function load() {
    if (state.loading) return state.loading;
    state.lastCheck = Date.now();
    var lm = window.LoraManager || {};
    // The host's credentials (SDNext --auth) and a standalone API key, from lora_manager_auth.js.
    var auth = typeof lm.authHeaders === 'function' ? lm.authHeaders() : Promise.resolve({});
    state.loading = auth.catch(function () { return {}; }).then(function (extra) {
      var headers = requestHeaders();
      for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k) && !headers[k]) headers[k] = extra[k];
      if (state.version) headers['If-None-Match'] = '"' + state.version + '"';
      // First load: the browser's cache revalidates for us across page loads;
      // later checks: our own If-None-Match, so a 304 reaches us and costs no parse.
      return fetch(apiBase() + '/autocomplete', { headers: headers, credentials: 'same-origin', cache: state.version ? 'no-store' : 'no-cache' });
    })
      .then(function (r) {
        if (r.status === 304) return state.index;
        if (!r.ok) throw new Error('LoRA Manager autocomplete index: HTTP ' + r.status);
        var tag = (r.headers.get('etag') || '').replace(/^W\//, '').replace(/"/g, '');
        if (tag && tag === state.version) return state.index;
        return r.json().then(setIndex);
      })
      .catch(function (err) {
        if (window.console) console.warn(err && err.message ? err.message : err);
        return state.index;
      })
      .then(function (idx) { state.loading = null; return idx; });
    return state.loading;
  }

  function maybeRefresh(minMs) {
    if (!enabled() || document.visibilityState === 'hidden') return;
    if (!state.index) return; // never loaded: nothing to keep current (it loads when a prompt box is used)
    if (Date.now() - state.lastCheck >= minMs) load();
  }

  // ------------------------------------------------------------------ context

  function contextAt(text, caret) { return IDX().contextAt(text, caret); }

  function formatWeight(w) {
    var n = Number(w);
    if (!isFinite(n)) n = 1;
    return String(Math.round(n * 100) / 100);
  }

  function insertionFor(item, text, start, caret) {
    var w = item.weight;
    if (w === null || w === undefined) w = setting('extra_networks_default_multiplier', 1);
    var tag = '<lora:' + item.prompt_name + ':' + formatWeight(w) + '>';
    if (!setting('lora_manager_autocomplete_triggers', true) || !item.triggers || !item.triggers.length) return tag;
    var rest = (text.slice(0, start) + ' ' + text.slice(caret)).toLowerCase();
    var words = item.triggers.filter(function (t) { return t && rest.indexOf(String(t).toLowerCase()) < 0; });
    return words.length ? words.join(', ') + ', ' + tag : tag;
  }

  // ------------------------------------------------------------------ list

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  var observer = null;

  function lazyImage(img, src) {
    if (!('IntersectionObserver' in window)) { img.src = src; return; }
    if (!observer) {
      observer = new IntersectionObserver(function (items) {
        items.forEach(function (it) {
          if (it.isIntersecting) { it.target.src = it.target.dataset.src; observer.unobserve(it.target); }
        });
      }, { root: listNode() });
    }
    img.dataset.src = src;
    observer.observe(img);
  }

  function listNode() {
    if (!state.list) {
      var list = el('div', 'lm-ac-list');
      list.id = 'lora_manager_autocomplete';
      list.setAttribute('role', 'listbox');
      list.hidden = true;
      list.addEventListener('mousedown', function (e) { e.preventDefault(); }); // keep the caret in the box
      list.addEventListener('click', function (e) {
        var row = e.target.closest ? e.target.closest('.lm-ac-item') : null;
        if (row) choose(Number(row.dataset.i));
      });
      list.addEventListener('mousemove', function (e) {
        var row = e.target.closest ? e.target.closest('.lm-ac-item') : null;
        if (row && Number(row.dataset.i) !== state.active) setActive(Number(row.dataset.i), false);
      });
      document.body.appendChild(list);
      state.list = list;
    }
    return state.list;
  }

  function previewUrl(item) {
    if (item.preview === null || item.preview === undefined) return null;
    var key = encodeURIComponent(String(item.id));
    if (item.preview === 'cover') return apiBase() + '/loras/' + key + '/cover';
    return apiBase() + '/loras/' + key + '/previews/' + encodeURIComponent(String(item.preview));
  }

  var rows = []; // row elements, reused from keystroke to keystroke (only changed rows are rewritten)

  function rowAt(i) {
    if (!rows[i]) {
      var r = { node: el('div', 'lm-ac-item'), thumb: el('span', 'lm-ac-thumb'), name: el('span', 'lm-ac-name'),
        sub: el('span', 'lm-ac-sub'), base: el('span', 'lm-ac-base'), weight: el('span', 'lm-ac-weight'), key: null };
      var main = el('span', 'lm-ac-main');
      main.appendChild(r.name);
      main.appendChild(r.sub);
      r.node.dataset.i = String(i);
      r.node.setAttribute('role', 'option');
      r.node.appendChild(r.thumb);
      r.node.appendChild(main);
      r.node.appendChild(r.base);
      r.node.appendChild(r.weight);
      listNode().appendChild(r.node);
      rows[i] = r;
    }
    return rows[i];
  }

  function fill(r, item) {
    r.node.className = 'lm-ac-item' + (item.incompatible ? ' lm-ac-incompatible' : '');
    var old = r.thumb.firstChild;
    if (old && observer) observer.unobserve(old);
    r.thumb.textContent = '';
    var src = previewUrl(item);
    if (src) {
      var img = el('img');
      img.alt = '';
      img.decoding = 'async';
      img.onerror = function () {
        // Under SDNext's --auth a plain <img> gets 401: fetch once more with the user's token
        // (lora_manager_auth.js, shared with the tab's images).
        var lm = window.LoraManager || {};
        if (img.dataset.retried || typeof lm.retryImage !== 'function') { img.remove(); return; }
        img.dataset.retried = '1';
        lm.retryImage(img, src).then(function (ok) { if (!ok) img.remove(); });
      };
      r.thumb.appendChild(img);
      lazyImage(img, src);
    }
    r.name.textContent = item.title || item.name;
    var sub = item.prompt_name;
    if (item.triggers && item.triggers.length) sub += ' \u00b7 ' + item.triggers.slice(0, 3).join(', ');
    r.sub.textContent = sub;
    r.base.textContent = item.base || '?';
    r.base.title = item.incompatible ? 'made for ' + item.base + ', the loaded checkpoint is ' + state.index.family : '';
    var w = item.weight === null || item.weight === undefined ? setting('extra_networks_default_multiplier', 1) : item.weight;
    r.weight.textContent = formatWeight(w);
    r.node.title = item.prompt_name;
  }

  function render() {
    var list = listNode();
    if (list.hidden) list.classList.toggle('lm-ac-dark', isDark());
    var results = state.results;
    for (var i = 0; i < results.length; i++) {
      var r = rowAt(i), item = results[i];
      var key = state.version + ':' + item.index + ':' + item.incompatible + ':' + item.weight;
      if (r.key !== key) { fill(r, item); r.key = key; }
      r.node.hidden = false;
    }
    for (var j = results.length; j < rows.length; j++) rows[j].node.hidden = true;
    list.scrollTop = 0;
    setActive(0, false);
  }

  function setActive(i, scroll) {
    var n = state.results.length;
    if (!state.list || !n) return;
    var previous = rows[state.active];
    state.active = (i + n) % n;
    if (previous) { previous.node.classList.remove('lm-ac-active'); previous.node.setAttribute('aria-selected', 'false'); }
    var row = rows[state.active].node;
    row.classList.add('lm-ac-active');
    row.setAttribute('aria-selected', 'true');
    if (scroll && row.scrollIntoView) row.scrollIntoView({ block: 'nearest' });
  }

  function isOpen() { return !!(state.list && !state.list.hidden && state.results.length); }

  function close() {
    if (state.list) state.list.hidden = true;
    state.results = [];
    state.ctx = null;
  }

  function isDark() {
    var nodes = [document.documentElement, document.body, document.querySelector('.gradio-container')];
    for (var i = 0; i < nodes.length; i++) if (nodes[i] && nodes[i].classList.contains('dark')) return true;
    return false;
  }

  /** Colours of the box the list belongs to, so it follows any host theme. */
  function themeFrom(ta, list) {
    var cs = getComputedStyle(ta);
    var bg = 'transparent';
    for (var node = ta; node && node.nodeType === 1; node = node.parentElement || (node.getRootNode && node.getRootNode().host)) {
      var b = getComputedStyle(node).backgroundColor;
      if (b && b !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(b)) { bg = b; break; }
    }
    list.style.setProperty('--lm-ac-fg', cs.color);
    if (bg !== 'transparent') list.style.setProperty('--lm-ac-bg', bg);
    list.style.fontFamily = cs.fontFamily;
  }

  // lora_manager_autocomplete_caret.js: where the caret sits on screen
  function caretRect(ta, pos) { return window.loraManagerAutocompleteCaret.rect(ta, pos); }

  function position(ta, start, caret) {
    var list = state.list;
    caret = caret || caretRect(ta, start);
    var vw = window.innerWidth, vh = window.innerHeight;
    var h = Math.min(list.scrollHeight, 360);
    var w = list.offsetWidth || 420;
    var left = Math.max(4, Math.min(caret.left, vw - w - 4));
    var below = caret.top + caret.height + 2;
    var top = below;
    if (below + h > vh - 4 && caret.top - h - 2 > 4) top = caret.top - h - 2; // no room below: above the line
    list.style.left = left + 'px';
    list.style.top = Math.max(4, top) + 'px';
    list.style.maxHeight = Math.max(120, Math.min(360, (top === below ? vh - below : caret.top) - 8)) + 'px';
  }

  // ------------------------------------------------------------------ events

  function boxOf(event) {
    var target = event.composedPath ? event.composedPath()[0] : event.target;
    if (!target || target.tagName !== 'TEXTAREA' || !target.matches) return null;
    return target.matches(BOX_SELECTOR) ? target : null;
  }

  function update(ta) {
    if (!enabled()) { close(); return; }
    if (!state.index) {
      load().then(function (idx) { if (idx && document.activeElement === ta) update(ta); });
      return;
    }
    if (ta.selectionStart !== ta.selectionEnd) { close(); return; }
    var ctx = contextAt(ta.value, ta.selectionStart);
    if (!ctx) { close(); return; }
    var results = search(ctx.query);
    if (!results.length && ctx.alt) {
      ctx = { mode: 'word', start: ctx.alt.start, query: ctx.alt.query, alt: null };
      results = search(ctx.query);
    }
    if (!results.length) { close(); return; }
    var list = listNode();
    var opening = list.hidden || state.ta !== ta;
    state.ta = ta;
    state.ctx = ctx;
    state.results = results;
    var t0 = performance.now();
    if (opening) themeFrom(ta, list); // once per opening: it reads styles up the tree
    var caret = caretRect(ta, ctx.start); // before the list changes, so layout is still clean
    var t1 = performance.now();
    render();
    list.hidden = false;
    var t2 = performance.now();
    position(ta, ctx.start, caret);
    state.lastUpdate = { search: state.lastSearchMs, caret: t1 - t0, render: t2 - t1, place: performance.now() - t2 };
  }

  function choose(i) {
    var ta = state.ta, ctx = state.ctx, item = state.results[i];
    if (!ta || !ctx || !item) return;
    var caret = ta.selectionStart;
    var text = ta.value;
    var insert = insertionFor(item, text, ctx.start, caret);
    close();
    state.suppress = true;
    try {
      ta.focus();
      ta.setSelectionRange(ctx.start, caret);
      var done = false;
      try { done = document.execCommand('insertText', false, insert); } catch (e) { done = false; } // keeps undo
      if (!done || ta.value === text) {
        ta.setRangeText(insert, ctx.start, caret, 'end');
      }
      // gradio listens for `input` to learn the new value
      ta.dispatchEvent(new Event('input', { bubbles: true }));
    } finally {
      state.suppress = false;
    }
  }

  function onInput(event) {
    if (state.suppress) return;
    var ta = boxOf(event);
    if (ta) update(ta);
  }

  var CONSUMED = { ArrowDown: 1, ArrowUp: 1, Enter: 1, Tab: 1, Escape: 1, PageDown: 1, PageUp: 1 };

  function onKeyDown(event) {
    if (!isOpen() || event.isComposing) return; // closed: never touch a key
    var ta = boxOf(event);
    if (!ta || ta !== state.ta) return;
    var key = event.key;
    if (event.ctrlKey || event.metaKey || event.altKey || (key === 'Tab' && event.shiftKey) || !CONSUMED[key]) {
      if (key === 'ArrowLeft' || key === 'ArrowRight' || key === 'Home' || key === 'End' || event.ctrlKey || event.metaKey) close();
      return; // not ours: the host and the browser get it
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    if (key === 'ArrowDown') setActive(state.active + 1, true);
    else if (key === 'ArrowUp') setActive(state.active - 1, true);
    else if (key === 'PageDown') setActive(Math.min(state.active + 8, state.results.length - 1), true);
    else if (key === 'PageUp') setActive(Math.max(state.active - 8, 0), true);
    else if (key === 'Escape') close();
    else choose(state.active);
  }

  function onFocusOut(event) {
    var ta = boxOf(event);
    if (ta && ta === state.ta) close();
  }

  function onPointerDown(event) {
    if (!isOpen()) return;
    var path = event.composedPath ? event.composedPath() : [event.target];
    if (path.indexOf(state.list) < 0 && path.indexOf(state.ta) < 0) close();
  }

  function onScroll() {
    if (isOpen() && state.ta && state.ctx) position(state.ta, state.ctx.start);
  }

  function install() {
    window.addEventListener('input', onInput, true);
    window.addEventListener('keydown', onKeyDown, true); // capture: before the box's own listeners
    window.addEventListener('focusout', onFocusOut, true);
    window.addEventListener('mousedown', onPointerDown, true);
    window.addEventListener('resize', onScroll);
    window.addEventListener('scroll', onScroll, true);
    window.addEventListener('focus', function () { maybeRefresh(FOCUS_MIN_MS); });
    document.addEventListener('visibilitychange', function () { maybeRefresh(FOCUS_MIN_MS); });
    setInterval(function () { maybeRefresh(POLL_MS); }, POLL_MS);
    // the tab's status line saw the library change (here, or on another host sharing it): check at once
    document.addEventListener('lora-manager:library-changed', function () { maybeRefresh(0); });
    window.addEventListener('focusin', function (event) {
      if (!state.index && !state.loading && enabled() && boxOf(event)) load();
    }, true);
    // Ready before the first keystroke: load once the page has settled.
    // Pages without a prompt box (the standalone tab) load it only when one is used.
    var warm = function () {
      if (enabled() && !state.index && document.querySelector('[id$="_prompt"] textarea')) load();
    };
    // Without the host's onUiLoaded: after the page's load event (a deferred script runs before
    // DOMContentLoaded, so a prompt box the page adds then would not be there yet).
    if (typeof onUiLoaded === 'function') onUiLoaded(warm); // eslint-disable-line no-undef
    else if (document.readyState !== 'complete') window.addEventListener('load', function () { setTimeout(warm, 500); });
    else setTimeout(warm, 500);
  }

  window.loraManagerAutocomplete = {
    search: search,
    contextAt: contextAt,
    load: load,
    setIndex: setIndex,
    close: close,
    state: state,
    normalize: normalize,
    insertionFor: insertionFor,
  };
  install();
})();
