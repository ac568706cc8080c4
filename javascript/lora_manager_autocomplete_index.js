/*
 * LoRA Manager: the prompt autocomplete's index (javascript/lora_manager_autocomplete.js uses it).
 *
 * Built once from GET /lora-manager/v1/autocomplete's columns into a sorted key table with
 * postings; a query is a binary search plus a walk over the matching keys' postings, never a
 * scan of the library. Pure functions of their arguments: no DOM, no settings, no state.
 */
(function () {
  'use strict';

  var SEPARATORS = /[\s_\-.,;:/\\|()[\]{}<>'"!?+*=#~`^&%$@]+/g;
  // kinds of field, best first in ties: 3 name, 2 title/alias, 1 trigger word, 0 tag
  var KIND_NAME = 3, KIND_TITLE = 2, KIND_TRIGGER = 1, KIND_TAG = 0;


  function normalize(text) {
    return String(text).toLowerCase().replace(SEPARATORS, ' ').trim();
  }

  function splitCamel(text) {
    return String(text).replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  }

  var SLICE = 5000; // entries per slice while preparing: the page stays responsive meanwhile

  /**
   * Build the sorted key table from the server's columns, in slices between which
   * the page keeps running. Calls done(index). `sync` does it in one go (tests).
   */
  function prepare(payload, done, sync) {
    var t0 = performance.now();
    var c = payload.columns;
    var n = c.id.length;
    var map = new Map();
    var memo = new Map(); // tags repeat across the library: normalise each once
    var add = function (key, e, code) {
      var v = e * 8 + code;
      var list = map.get(key);
      if (list === undefined) map.set(key, [v]);
      else if (list[list.length - 1] !== v) list.push(v);
    };
    var keysOf = function (text, kind) {
      var norm = normalize(kind === KIND_NAME ? splitCamel(text) : text);
      if (!norm) return [];
      if (norm.indexOf(' ') < 0) return [norm];
      // the whole text, the whole without spaces ("mycoollora" finds "My Cool Lora"), then each later word
      return [norm, norm.replace(/ /g, '')].concat(norm.split(' ').slice(1));
    };
    var addField = function (text, e, kind, cache) {
      if (typeof text !== 'string' || !text) return;
      var keys = cache ? memo.get(text) : undefined;
      if (keys === undefined) {
        keys = keysOf(text, kind);
        if (cache) memo.set(text, keys);
      }
      for (var i = 0; i < keys.length; i++) add(keys[i], e, kind * 2 + (i < 2 ? 1 : 0));
    };
    var names = new Array(n);
    var e = 0;
    var slice = function () {
      var stop = sync ? n : Math.min(n, e + SLICE);
      for (; e < stop; e++) {
        addField(c.prompt_name[e], e, KIND_NAME, false);
        if (c.name[e]) addField(c.name[e], e, KIND_NAME, false);
        if (c.title[e]) addField(c.title[e], e, KIND_TITLE, false);
        if (c.alias[e]) addField(c.alias[e], e, KIND_TITLE, false);
        var trig = c.triggers[e];
        for (var i = 0; i < trig.length; i++) addField(trig[i], e, KIND_TRIGGER, true);
        var tags = c.tags[e];
        for (var j = 0; j < tags.length; j++) addField(tags[j], e, KIND_TAG, true);
        names[e] = normalize(c.title[e] ? c.prompt_name[e] + ' ' + c.title[e] : c.prompt_name[e]);
      }
      if (e < n) { setTimeout(slice, 0); return; }
      done(finish());
    };
    var finish = function () {
      var keys = Array.from(map.keys()).sort();
      var start = new Int32Array(keys.length + 1);
      var total = 0;
      for (var k = 0; k < keys.length; k++) { start[k] = total; total += map.get(keys[k]).length; }
      start[keys.length] = total;
      var post = new Int32Array(total);
      for (var k2 = 0, p = 0; k2 < keys.length; k2++) {
        var l = map.get(keys[k2]);
        for (var q = 0; q < l.length; q++) post[p++] = l[q];
      }
      // substring fallback over names: one string, entry boundaries in `offsets`
      var offsets = new Int32Array(n + 1);
      for (var e2 = 0, pos = 0; e2 < n; e2++) { offsets[e2] = pos; pos += names[e2].length + 1; }
      offsets[n] = n ? offsets[n - 1] + names[n - 1].length + 1 : 0;
      // use: how often and how lately, one number per entry (ties on match quality)
      var now = Date.now() / 1000;
      var frecency = new Float64Array(n);
      for (var e3 = 0; e3 < n; e3++) {
        var uses = c.uses[e3] || 0;
        var last = c.last_used[e3];
        var recent = last ? Math.pow(0.5, Math.max(0, now - last) / (14 * 86400)) : 0; // half-life two weeks
        frecency[e3] = uses > 0 ? Math.log2(1 + uses) * 1000 + recent * 4000 : 0;
      }
      // what a bare `<lora:` and one letter list: the most used, then by name
      var pn = c.prompt_name;
      var byUse = Array.from({ length: n }, function (_, i) { return i; }).sort(function (a, b) {
        return frecency[b] - frecency[a] || (pn[a] < pn[b] ? -1 : pn[a] > pn[b] ? 1 : 0);
      });
      return {
        version: payload.version,
        family: payload.checkpoint_family || null,
        count: n,
        c: c,
        keys: keys,
        start: start,
        post: post,
        names: names,
        blob: names.join('\n'),
        offsets: offsets,
        frecency: frecency,
        byUse: byUse,
        best: new Uint8Array(n),
        touched: new Int32Array(n),
        prepareMs: performance.now() - t0,
      };
    };
    slice();
  }

  function lowerBound(keys, q) {
    var lo = 0, hi = keys.length;
    while (lo < hi) {
      var mid = (lo + hi) >>> 1;
      if (keys[mid] < q) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function entryAt(offsets, pos) {
    var lo = 0, hi = offsets.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >>> 1;
      if (offsets[mid] <= pos) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  function incompatible(idx, e) {
    var base = idx.c.base[e];
    return !!(idx.family && base && base !== idx.family);
  }

  function entry(idx, e, tier) {
    var c = idx.c;
    return {
      index: e, id: c.id[e], prompt_name: c.prompt_name[e], name: c.name[e] || c.prompt_name[e], title: c.title[e],
      alias: c.alias[e], base: c.base[e], weight: c.weight[e], triggers: c.triggers[e], tags: c.tags[e],
      uses: c.uses[e], last_used: c.last_used[e], preview: c.preview[e], incompatible: incompatible(idx, e), tier: tier,
    };
  }

  /**
   * LoRAs matching `query`, best first: match quality (exact > prefix of the whole
   * name/title/trigger/tag > prefix of one of its words > inside the name; name >
   * title/alias > trigger > tag in ties), then use (count and recency).
   * An empty query lists the most used, then the rest by name.
   */
  function search(idx, query, limit, hide) {
    var q = normalize(query || '');
    var out = [];
    if (q.length < 2) {
      // nothing or one letter: the most used whose name or title starts so, without walking
      // the postings of every key under that letter (a tenth of the library)
      for (var u = 0; u < idx.byUse.length && out.length < limit; u++) {
        var eu = idx.byUse[u];
        if (q && idx.names[eu].charAt(0) !== q && idx.names[eu].indexOf(' ' + q) < 0) continue;
        if (!(hide && incompatible(idx, eu))) out.push(entry(idx, eu, 0));
      }
      return out;
    }
    var best = idx.best, touched = idx.touched, nt = 0;
    var keys = idx.keys, start = idx.start, post = idx.post;
    for (var k = lowerBound(keys, q); k < keys.length; k++) {
      var key = keys[k];
      if (key.lastIndexOf(q, 0) !== 0) break;
      var exact = key.length === q.length;
      for (var p = start[k], end = start[k + 1]; p < end; p++) {
        var v = post[p], e = v >> 3, code = v & 7;
        var tier = ((code & 1) ? (exact ? 3 : 2) : 1) * 4 + (code >> 1) + 1;
        if (tier > best[e]) { if (best[e] === 0) touched[nt++] = e; best[e] = tier; }
      }
    }
    if (nt < limit && q.length >= 3) { // inside a name: "cyber" finds "neocyberpunk"
      var blob = idx.blob, at = blob.indexOf(q), hits = 0;
      while (at >= 0 && hits < 5000) {
        var e2 = entryAt(idx.offsets, at);
        if (best[e2] === 0) { touched[nt++] = e2; best[e2] = KIND_NAME + 1; }
        hits++;
        at = blob.indexOf(q, idx.offsets[e2 + 1]); // next entry
      }
    }
    // best `limit` by score, in one pass with a small sorted buffer
    var topE = [], topS = [];
    var frec = idx.frecency, names = idx.c.prompt_name;
    for (var i = 0; i < nt; i++) {
      var en = touched[i];
      var bad = incompatible(idx, en);
      if (bad && hide) continue;
      // quality first; use within a quality; an unfitting base last within its quality
      var score = best[en] * 1e7 + (bad ? 0 : 5e6) + Math.min(frec[en], 4.9e6) - names[en].length * 1e-3;
      if (topS.length === limit && score <= topS[limit - 1]) continue;
      var j = topS.length;
      if (j === limit) j--;
      while (j > 0 && topS[j - 1] < score) { topS[j] = topS[j - 1]; topE[j] = topE[j - 1]; j--; }
      topS[j] = score; topE[j] = en;
    }
    for (var r = 0; r < topE.length; r++) out.push(entry(idx, topE[r], best[topE[r]]));
    for (var z = 0; z < nt; z++) best[touched[z]] = 0;
    return out;
  }

  // ------------------------------------------------------------------ context

  /** What is being completed at `caret` in `text`: a `<lora:` tag, or a phrase and its last word. */
  function contextAt(text, caret) {
    var before = text.slice(Math.max(0, caret - 300), caret);
    var lt = before.lastIndexOf('<');
    if (lt >= 0) {
      var m = /^<(?:lora|lyco):([^<>:]*)$/i.exec(before.slice(lt));
      if (m) return { mode: 'tag', start: caret - (before.length - lt), query: m[1], alt: null };
    }
    var phrase = /[^,\n()[\]{}|<>:]*$/.exec(before)[0].replace(/^\s+/, '');
    var word = /[^\s,\n()[\]{}|<>:]*$/.exec(before)[0];
    if (letters(word) < 2 && letters(phrase) < 2) return null;
    var after = text.charAt(caret);
    if (after && /[\p{L}\p{N}_]/u.test(after)) return null; // inside a word
    var ctx = { mode: 'word', start: caret - phrase.length, query: phrase, alt: null };
    if (phrase !== word && letters(word) >= 2) ctx.alt = { start: caret - word.length, query: word };
    return ctx;
  }

  function letters(s) {
    var m = s.match(/\p{L}/gu);
    return m ? m.length : 0;
  }

  window.loraManagerAutocompleteIndex = { normalize: normalize, prepare: prepare, search: search, contextAt: contextAt };
})();
