/* LoRA Manager: the interface text in one table (English and Simplified Chinese), and dates in the reader's
 * language.
 *
 * LM.t(key, vars) gives the text of `key` in the current language, `{name}` replaced from `vars`; a key
 * missing there falls back to English, then to the key itself. Other files add their own keys with
 * LM.i18n.add('en', {...}) / LM.i18n.add('zh-CN', {...}). The panels' words are in the table's other files,
 * lora_manager_i18n_*.js (one per group of panels, named in TABLE_PARTS): each queues {name, en, 'zh-CN'} on
 * LM.i18nParts, in any order, and the tab mounts once all of them are in (LM.i18n.ready()). The language: inside SDNext its locale setting
 * (window.opts.ui_locale: "Auto" follows the browser), on the standalone page the switch in the header
 * (remembered), else the browser's language. Loaded before the tab's files (alphabetical), read at mount.
 */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});
  if (LM.i18n) return;
  const STORE = 'lora-manager-locale';
  const LANGUAGES = [['en', 'English'], ['zh-CN', '简体中文']];
  // The table's other files (lora_manager_i18n_<name>.js), waited for before the tab mounts.
  const TABLE_PARTS = ['analytics', 'civitai', 'data', 'folders'];
  const arrived = new Set();

  const en = {
    'common.unknown': 'unknown', 'common.close': 'close', 'common.cancel': 'Cancel', 'common.open': 'Open',
    'api.no_answer': 'the server did not answer ({why})',
    'nav.library': 'Library', 'nav.rescan': 'Rescan', 'nav.rescan_hint': 'look for new, changed, moved and removed files',
    'filter.search': 'Search names, triggers, tags, descriptions…', 'filter.search_label': 'search',
    'filter.base_label': 'base model', 'filter.all_bases': 'All base models', 'filter.tag': 'Tag', 'filter.tag_label': 'tag',
    'filter.show_label': 'show', 'show.all': 'Everything', 'show.favorite': 'Favorites', 'show.has_preview': 'With preview',
    'show.no_preview': 'Without preview', 'show.duplicate': 'Duplicates', 'show.update_available': 'Updates on Civitai',
    'show.missing': 'Missing', 'show.broken': 'Broken', 'show.trashed': 'Trash',
    'filter.sort_label': 'sort', 'sort.name': 'Name', 'sort.modified': 'Newest file', 'sort.added': 'Recently added',
    'sort.largest': 'Largest', 'sort.smallest': 'Smallest',
    'view.table': 'Table view', 'view.grid': 'Grid view', 'view.details': 'details',
    'select.all': 'Select all', 'select.all_hint': 'select every LoRA that matches (up to 10,000) for a bulk action',
    'select.box': 'select',
    'status.scanning': 'Scanning{progress}…', 'status.indexed': '{n} files indexed',
    'status.hashing': 'hashing: {n} left ({size})', 'status.starting': 'LoRA Manager is starting…',
    'status.unavailable': 'Status unavailable: {why}', 'scan.running': 'A scan is already running', 'scan.refused': 'No scan: {why}',
    'prefs.theme': 'Theme', 'prefs.system': 'System', 'prefs.light': 'Light', 'prefs.dark': 'Dark', 'prefs.language': 'Language',
    'count.one': '{n} LoRA', 'count.other': '{n} LoRAs',
    'empty.filtered': 'Nothing matches. Clear the search or a filter.',
    'empty.library': 'No LoRAs yet: add files to your LoRA folders, then Rescan.',
    'card.no_preview': 'no preview', 'card.favorite': 'favorite', 'card.unfavorite': 'unfavorite', 'card.uses': 'generations that used it',
    'state.ok': 'ok', 'state.missing': 'missing', 'state.trashed': 'in the trash', 'state.broken': 'broken',
    'col.name': 'Name', 'col.base': 'Base', 'col.type': 'Type', 'col.size': 'Size', 'col.modified': 'Modified', 'col.state': 'State',
    'key.placeholder': 'API key', 'key.use': 'Use key',
    'edit.saved': 'saved', 'edit.not_saved': 'not saved: {why}', 'edit.not_saved_toast': 'Not saved: {why}', 'edit.nan': 'not a number',
    'detail.rank': 'rank {n}', 'detail.hashes': 'Hashes', 'detail.description': 'Description', 'detail.training_tags': 'Training tags',
    'detail.file': 'File', 'detail.sidecars': 'Sidecars', 'detail.duplicates': 'Duplicates (same full hash)', 'detail.metadata': 'Metadata',
    'detail.hashing': 'hashing…',
    'file.prompt_name': 'Prompt name', 'file.alias': 'Alias', 'file.path': 'Path', 'file.size': 'Size', 'file.modified': 'Modified',
    'file.added': 'Added', 'file.base': 'Base model', 'file.author': 'Author', 'file.resolution': 'Resolution',
    'file.moved_from': 'Moved from', 'file.missing_since': 'Missing since',
    'act.copy_tag': 'Copy tag', 'act.copy_tag_hint': 'copy <lora:…> with trigger words', 'act.to_prompt': 'To {tab}',
    'act.restore': 'Restore', 'act.move': 'Move / rename', 'act.delete': 'Delete', 'act.delete_hint': 'move to the trash (recoverable)',
    'act.forget': 'Forget', 'act.forget_hint': 'the file is gone: drop its entry', 'act.purge': 'Delete permanently',
    'act.copied': 'Copied', 'act.no_prompt': 'No {tab} prompt on this page', 'act.added_to': 'Added to {tab}',
    'move.folder': 'Folder', 'move.folder_hint': 'folder inside a LoRA root', 'move.name': 'New name', 'move.go': 'Move',
    'move.root': '(top of the root)', 'move.done': 'Moved', 'move.failed': 'Not moved: {why}',
    'trash.confirm': 'Move “{name}” to the trash? It can be restored.', 'trash.done': 'Moved to the trash',
    'trash.failed': 'Not deleted: {why}', 'restore.done': 'Restored', 'restore.failed': 'Not restored: {why}',
    'forget.done': 'Forgotten', 'forget.failed': 'Not forgotten: {why}',
    'purge.confirm': 'Delete “{name}” for good? The file is erased and cannot be restored.',
    'purge.done': 'Deleted for good', 'purge.failed': 'Not deleted: {why}',
    'trash.empty': 'Empty trash', 'trash.empty_hint': 'delete every LoRA in the trash for good',
    'trash.empty_confirm': 'Delete all {n} LoRA(s) in the trash for good? Their files are erased and cannot be restored.',
    'trash.emptied': 'Trash emptied: {n} deleted for good', 'trash.already_empty': 'The trash is already empty',
    'trash.empty_failed': 'Trash not emptied: {why}',
    'form.favorite': 'Favorite', 'form.rating': 'Rating', 'form.no_rating': 'no rating', 'form.display_name': 'Display name',
    'form.display_name_hint': 'your own name for it (kept by rescans)', 'form.tags': 'Tags', 'form.triggers': 'Trigger words',
    'form.weight': 'Weight', 'form.min': 'Min', 'form.max': 'Max', 'form.base': 'Base model', 'form.detected': 'detected ({label})',
    'form.negative': 'Negative prompt', 'form.notes': 'Notes',
    'bulk.selected': '{n} selected', 'bulk.select_loaded': 'Select loaded', 'bulk.clear': 'Clear', 'bulk.tag': 'tag',
    'bulk.tag_label': 'bulk tag', 'bulk.add_tag': 'Add tag', 'bulk.remove_tag': 'Remove tag', 'bulk.favorite': 'Favorite',
    'bulk.unfavorite': 'Unfavorite', 'bulk.base': 'base model…', 'bulk.base_label': 'bulk base model', 'bulk.set_base': 'Set base',
    'bulk.folder_label': 'bulk folder', 'bulk.folder_pick': 'folder…', 'bulk.move': 'Move', 'bulk.delete': 'Delete', 'bulk.restore': 'Restore',
    'bulk.too_many': 'Narrow the list to 10,000 LoRAs or fewer first', 'bulk.need_tag': 'Type a tag first',
    'bulk.need_folder': 'Pick a folder first', 'bulk.changed': '{n} changed', 'bulk.failed': 'Not done: {why}',
    'bulk.trash_confirm': 'Move {n} LoRA(s) to the trash? They can be restored.', 'bulk.moved': '{n} moved', 'bulk.deleted': '{n} deleted',
    'bulk.some_failed': '{n} failed ({first})', 'bulk.previews': 'Generate previews',
    'bulk.previews_hint': 'a preview job per selected LoRA through the host, its image set as the LoRA\'s preview',
    'bulk.previews_replace': 'replace their previews', 'bulk.previews_too_many': 'Select {n} LoRAs or fewer for preview generation',
    'menu.label': 'actions for {name}', 'menu.favorite': 'Favorite', 'menu.unfavorite': 'Unfavorite', 'menu.copy': 'Copy <lora:> tag',
    'menu.move': 'Move…', 'menu.trash': 'Move to trash', 'menu.restore': 'Restore', 'menu.forget': 'Forget missing entry',
    'menu.purge': 'Delete permanently',
    'jobs.unavailable': 'Jobs run inside SDNext: start the extension in SDNext to run them.',
    'rec.down': 'thumbs down', 'rec.down_text': 'Less like this',
    'time.just_now': 'just now',
  };

  const zh = {
    'common.unknown': '未知', 'common.close': '关闭', 'common.cancel': '取消', 'common.open': '打开',
    'api.no_answer': '服务器没有响应（{why}）',
    'nav.library': '模型库', 'nav.rescan': '重新扫描', 'nav.rescan_hint': '查找新增、修改、移动和删除的文件',
    'filter.search': '搜索名称、触发词、标签、描述…', 'filter.search_label': '搜索',
    'filter.base_label': '基础模型', 'filter.all_bases': '全部基础模型', 'filter.tag': '标签', 'filter.tag_label': '标签',
    'filter.show_label': '显示', 'show.all': '全部', 'show.favorite': '收藏', 'show.has_preview': '有预览图',
    'show.no_preview': '无预览图', 'show.duplicate': '重复项', 'show.update_available': 'Civitai 有更新',
    'show.missing': '文件缺失', 'show.broken': '已损坏', 'show.trashed': '回收站',
    'filter.sort_label': '排序', 'sort.name': '名称', 'sort.modified': '最新文件', 'sort.added': '最近添加',
    'sort.largest': '最大', 'sort.smallest': '最小',
    'view.table': '表格视图', 'view.grid': '网格视图', 'view.details': '详情',
    'select.all': '全选', 'select.all_hint': '选中所有匹配的 LoRA（最多 10,000 个）以进行批量操作', 'select.box': '选择',
    'status.scanning': '正在扫描{progress}…', 'status.indexed': '已索引 {n} 个文件',
    'status.hashing': '哈希计算：剩余 {n} 个（{size}）', 'status.starting': 'LoRA Manager 正在启动…',
    'status.unavailable': '状态不可用：{why}', 'scan.running': '已有扫描在进行', 'scan.refused': '无法扫描：{why}',
    'prefs.theme': '主题', 'prefs.system': '跟随系统', 'prefs.light': '浅色', 'prefs.dark': '深色', 'prefs.language': '语言',
    'count.one': '{n} 个 LoRA', 'count.other': '{n} 个 LoRA',
    'empty.filtered': '没有匹配项。请清除搜索或筛选条件。',
    'empty.library': '还没有 LoRA：把文件放入 LoRA 文件夹，然后重新扫描。',
    'card.no_preview': '无预览图', 'card.favorite': '收藏', 'card.unfavorite': '取消收藏', 'card.uses': '使用过它的生成次数',
    'state.ok': '正常', 'state.missing': '缺失', 'state.trashed': '在回收站', 'state.broken': '已损坏',
    'col.name': '名称', 'col.base': '基础', 'col.type': '类型', 'col.size': '大小', 'col.modified': '修改时间', 'col.state': '状态',
    'key.placeholder': 'API 密钥', 'key.use': '使用密钥',
    'edit.saved': '已保存', 'edit.not_saved': '未保存：{why}', 'edit.not_saved_toast': '未保存：{why}', 'edit.nan': '不是数字',
    'detail.rank': '秩 {n}', 'detail.hashes': '哈希', 'detail.description': '描述', 'detail.training_tags': '训练标签',
    'detail.file': '文件', 'detail.sidecars': '附属文件', 'detail.duplicates': '重复项（完整哈希相同）', 'detail.metadata': '元数据',
    'detail.hashing': '正在计算哈希…',
    'file.prompt_name': '提示词名称', 'file.alias': '别名', 'file.path': '路径', 'file.size': '大小', 'file.modified': '修改时间',
    'file.added': '添加时间', 'file.base': '基础模型', 'file.author': '作者', 'file.resolution': '分辨率',
    'file.moved_from': '移动自', 'file.missing_since': '缺失时间',
    'act.copy_tag': '复制标签', 'act.copy_tag_hint': '复制 <lora:…> 及触发词', 'act.to_prompt': '发送到 {tab}',
    'act.restore': '恢复', 'act.move': '移动 / 重命名', 'act.delete': '删除', 'act.delete_hint': '移到回收站（可恢复）',
    'act.forget': '移除条目', 'act.forget_hint': '文件已不存在：删除其条目', 'act.purge': '永久删除',
    'act.copied': '已复制', 'act.no_prompt': '此页面没有 {tab} 提示词框', 'act.added_to': '已添加到 {tab}',
    'move.folder': '文件夹', 'move.folder_hint': 'LoRA 根目录内的文件夹', 'move.name': '新名称', 'move.go': '移动',
    'move.root': '（根目录顶层）', 'move.done': '已移动', 'move.failed': '未移动：{why}',
    'trash.confirm': '将“{name}”移到回收站？之后可以恢复。', 'trash.done': '已移到回收站',
    'trash.failed': '未删除：{why}', 'restore.done': '已恢复', 'restore.failed': '未恢复：{why}',
    'forget.done': '已移除', 'forget.failed': '未移除：{why}',
    'purge.confirm': '永久删除“{name}”？文件将被抹除，无法恢复。',
    'purge.done': '已永久删除', 'purge.failed': '未删除：{why}',
    'trash.empty': '清空回收站', 'trash.empty_hint': '永久删除回收站中的所有 LoRA',
    'trash.empty_confirm': '永久删除回收站中的全部 {n} 个 LoRA？文件将被抹除，无法恢复。',
    'trash.emptied': '回收站已清空：永久删除了 {n} 个', 'trash.already_empty': '回收站已经是空的',
    'trash.empty_failed': '回收站未清空：{why}',
    'form.favorite': '收藏', 'form.rating': '评分', 'form.no_rating': '未评分', 'form.display_name': '显示名称',
    'form.display_name_hint': '你自己的名称（重新扫描不会覆盖）', 'form.tags': '标签', 'form.triggers': '触发词',
    'form.weight': '权重', 'form.min': '最小', 'form.max': '最大', 'form.base': '基础模型', 'form.detected': '自动检测（{label}）',
    'form.negative': '反向提示词', 'form.notes': '备注',
    'bulk.selected': '已选 {n} 个', 'bulk.select_loaded': '选中已加载', 'bulk.clear': '清除', 'bulk.tag': '标签',
    'bulk.tag_label': '批量标签', 'bulk.add_tag': '添加标签', 'bulk.remove_tag': '移除标签', 'bulk.favorite': '收藏',
    'bulk.unfavorite': '取消收藏', 'bulk.base': '基础模型…', 'bulk.base_label': '批量基础模型', 'bulk.set_base': '设置基础模型',
    'bulk.folder_label': '批量文件夹', 'bulk.folder_pick': '文件夹…', 'bulk.move': '移动', 'bulk.delete': '删除', 'bulk.restore': '恢复',
    'bulk.too_many': '请先把列表缩小到 10,000 个 LoRA 以内', 'bulk.need_tag': '请先输入标签',
    'bulk.need_folder': '请先选择文件夹', 'bulk.changed': '已修改 {n} 个', 'bulk.failed': '未完成：{why}',
    'bulk.trash_confirm': '将 {n} 个 LoRA 移到回收站？之后可以恢复。', 'bulk.moved': '已移动 {n} 个', 'bulk.deleted': '已删除 {n} 个',
    'bulk.some_failed': '{n} 个失败（{first}）', 'bulk.previews': '生成预览图',
    'bulk.previews_hint': '通过主机为每个选中的 LoRA 运行一个预览任务，并把生成的图像设为它的预览图',
    'bulk.previews_replace': '替换已有预览图', 'bulk.previews_too_many': '预览图生成最多选择 {n} 个 LoRA',
    'menu.label': '{name} 的操作', 'menu.favorite': '收藏', 'menu.unfavorite': '取消收藏', 'menu.copy': '复制 <lora:> 标签',
    'menu.move': '移动…', 'menu.trash': '移到回收站', 'menu.restore': '恢复', 'menu.forget': '移除缺失条目',
    'menu.purge': '永久删除',
    'jobs.unavailable': '任务在 SDNext 中运行：请在 SDNext 中启动此扩展来运行任务。',
    'rec.down': '不喜欢', 'rec.down_text': '减少此类推荐',
    'time.just_now': '刚刚',
  };

  const tables = { en, 'zh-CN': zh };

  // A locale name from the host, the browser or the switch → one of ours ('en' when we have no table).
  function normalize(name) {
    const s = String(name || '').split(':')[0].trim().toLowerCase().replace('_', '-');
    if (s.startsWith('zh')) return 'zh-CN';
    return 'en';
  }

  function browserLocale() {
    return (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  }

  const i18n = {
    locale: 'en',
    languages: LANGUAGES,
    tables,
    /** Add or replace keys of one language (other files' own texts). */
    add(locale, entries) {
      const key = /^zh/i.test(locale) ? 'zh-CN' : (/^en/i.test(locale) ? 'en' : String(locale));
      Object.assign(tables[key] || (tables[key] = {}), entries);
    },
    /** The language to draw in: SDNext's setting inside the host, the remembered switch or the browser's. */
    detect(hostMode) {
      const chosen = hostMode ? null : (localStorage.getItem(STORE) || null);
      const opts = window.opts && typeof window.opts === 'object' ? window.opts : null;
      let wanted = chosen || browserLocale();
      if (hostMode && opts && opts.ui_locale && opts.ui_locale !== 'Auto') wanted = opts.ui_locale;
      i18n.locale = normalize(wanted);
      // Dates and numbers in the reader's own conventions (de-DE, en-GB...) where the language is theirs.
      const raw = String(wanted).split(':')[0].trim().replace('_', '-');
      let supported = [];
      try { supported = Intl.DateTimeFormat.supportedLocalesOf([raw]); } catch (err) { /* not a locale tag */ }
      i18n.formatLocale = supported.length && (chosen === null || normalize(raw) === i18n.locale) ? supported[0] : i18n.locale;
      return i18n.locale;
    },
    /** The standalone page's switch: remembered, drawn after a reload. */
    choose(locale) { localStorage.setItem(STORE, normalize(locale)); },
    chosen() { return localStorage.getItem(STORE); },
    /** Every file of the table has added its words. */
    ready() { return TABLE_PARTS.every((name) => arrived.has(name)); },
    /** A moment (ISO string, epoch ms, or *_ns nanoseconds) as a date in the reader's language. */
    date(value, withTime) {
      const d = toDate(value);
      if (!d) return '';
      const opts = withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' };
      return new Intl.DateTimeFormat(i18n.formatLocale || i18n.locale, opts).format(d);
    },
    /** "3 days ago", "in 2 hours": a moment relative to now. */
    relative(value) {
      const d = toDate(value);
      if (!d) return '';
      const secs = (d.getTime() - Date.now()) / 1000;
      if (Math.abs(secs) < 45) return LM.t('time.just_now');
      const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
      const [unit, size] = units.find(([, s]) => Math.abs(secs) >= s) || units[units.length - 1];
      return new Intl.RelativeTimeFormat(i18n.formatLocale || i18n.locale, { numeric: 'auto' }).format(Math.round(secs / size), unit);
    },
    number(n) { return Number(n || 0).toLocaleString(i18n.formatLocale || i18n.locale); },
  };

  function toDate(value) {
    if (value === null || value === undefined || value === '') return null;
    let d;
    if (typeof value === 'number' || /^\d+$/.test(String(value))) {
      const n = Number(value);
      d = new Date(n > 1e14 ? n / 1e6 : n); // nanoseconds (file times) or milliseconds
    } else d = new Date(String(value));
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function addPart(part) {
    i18n.add('en', part.en || {});
    i18n.add('zh-CN', part['zh-CN'] || {});
    arrived.add(part.name);
  }

  LM.i18n = i18n;
  const queued = Array.isArray(LM.i18nParts) ? LM.i18nParts : [];
  LM.i18nParts = { push: (...parts) => parts.forEach(addPart) };
  queued.forEach(addPart);
  LM.t = (key, vars) => {
    const table = tables[i18n.locale] || en;
    let text = table[key] ?? en[key] ?? key;
    if (vars) text = text.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined || vars[k] === null ? m : String(vars[k])));
    return text;
  };
})();
