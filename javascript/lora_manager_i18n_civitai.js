/* LoRA Manager: the words of the Civitai panel (downloads, updates, metadata and its facts in a LoRA's detail) and of
 * the Recommendations panel, part of the interface text table (lora_manager_i18n.js explains the table, its keys and
 * how a file adds its words). */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});

  const en = {
    'cv.tab': 'Civitai', 'cv.newer_title': 'a newer version on Civitai: {version}', 'cv.update_badge': 'update',
    'cv.ref_ph': 'https://civitai.com/models/123?modelVersionId=456, 456, or urn:air:…', 'cv.ref_label': 'Civitai reference',
    'cv.folder_ph': 'folder (optional): below the first root', 'cv.folder_label': 'download folder',
    'cv.download_title': 'Download from Civitai', 'cv.ref_field': 'Model or download URL, version id, or AIR',
    'cv.download': 'Download', 'cv.newer_versions': 'Newer versions on Civitai', 'cv.check_now': 'Check now',
    'cv.downloads': 'Downloads', 'cv.queued': 'Queued: {ref}', 'cv.queued_toast': 'Download queued (Civitai panel)',
    'cv.need_ref': 'Paste a Civitai URL, a version id or an AIR', 'cv.downloads_unavailable': 'Downloads unavailable: {why}',
    'cv.no_downloads': 'No downloads yet.', 'cv.pause': 'Pause', 'cv.resume': 'Resume',
    'cv.state_queued': 'queued', 'cv.state_running': 'running', 'cv.state_paused': 'paused', 'cv.state_failed': 'failed',
    'cv.state_done': 'done', 'cv.state_cancelled': 'cancelled', 'cv.of': '{done} of {size}',
    'cv.failed_pause': 'Not paused: {why}', 'cv.failed_resume': 'Not resumed: {why}', 'cv.failed_cancel': 'Not cancelled: {why}',
    'cv.updates_unavailable': 'Updates unavailable: {why}', 'cv.checking': 'Checking…', 'cv.last_checked': 'Last checked {when}',
    'cv.not_checked_yet': 'Not checked yet', 'cv.next_check': '; next {when}',
    'cv.no_updates': 'No LoRA has a newer version on Civitai (as far as their sidecars say which they are).',
    'cv.n_newer': '({n} newer)', 'cv.not_checked': 'Not checked: {why}', 'cv.beside': 'Download beside',
    'cv.beside_hint': 'keep this version; copy your data on it to the new one', 'cv.replace': 'Replace',
    'cv.replace_hint': 'this version goes to the trash and your data moves to the new one', 'cv.this_one': '(this one)',
    'cv.newer': 'newer', 'cv.on_civitai': 'On Civitai: {name}',

    'cf.level': 'level {n}', 'cf.rated': 'rated {level}: click to show', 'cf.running': 'A Civitai fetch is already running',
    'cf.not_fetched': 'Not fetched: {why}', 'cf.fetching': 'Fetching {what} from Civitai…', 'cf.line': 'Civitai: {text}',
    'cf.progress': 'Civitai: {done} · {found} found', 'cf.failed': 'Civitai fetch failed: {why}',
    'cf.done': 'Civitai: {found} found, {missing} not on Civitai', 'cf.n_failed': ', {n} failed',
    'cf.not_asked': 'Not looked up yet.', 'cf.checked': '(checked {when})', 'cf.not_on': 'Not on Civitai',
    'cf.model': 'Model', 'cf.version': 'Version', 'cf.creator': 'Creator', 'cf.published': 'Published', 'cf.updated': 'Updated',
    'cf.levels': '(levels {n})', 'cf.matched_by': 'Matched by', 'cf.trained_words': 'Trained words (Civitai)', 'cf.copy': 'copy',
    'cf.tags': 'Tags: {tags}', 'cf.download_link': 'Download link on Civitai', 'cf.blur_label': 'blur previews above',
    'cf.never_blur': 'never blur', 'cf.metadata': 'Metadata from Civitai', 'cf.fetch_missing': 'Fetch all missing',
    'cf.what_missing': 'every LoRA lacking a record', 'cf.refresh_all': 'Refresh all', 'cf.what_again': 'every LoRA again',
    'cf.blur_field': 'Blur previews rated above', 'cf.library': '{found} found · {missing} not on Civitai · {lacking} not looked up',
    'cf.fetching_now': 'fetching…', 'cf.fetch': 'Fetch from Civitai', 'cf.what_n': '{n} LoRA(s)',
    'cf.fetch_hint': 'look this file up on Civitai by its hash', 'cf.what_one': 'this LoRA',

    'rec.tab': 'Recommendations', 'rec.prompt_ph': 'Describe the image, or paste a prompt (its <lora:…> tags are kept out of the suggestions)',
    'rec.prompt_label': 'prompt for recommendations', 'rec.base_label': 'target base model',
    'rec.base_auto': 'Base: the loaded checkpoint (or the prompt\'s LoRAs)', 'rec.suggest': 'Suggest', 'rec.from': 'From {tab}',
    'rec.from_hint': 'use the {tab} prompt', 'rec.semantic': 'semantic ranking', 'rec.lexical': 'lexical ranking',
    'rec.mode_semantic': 'semantic', 'rec.mode_lexical': 'lexical',
    'rec.fetching_model': 'fetching the model {mb} MB', 'rec.embedding': 'embedding {done}/{total}',
    'rec.status_unavailable': 'status unavailable: {why}', 'rec.need_prompt': 'Type a prompt first', 'rec.thinking': 'Thinking…',
    'rec.one': '{n} suggestion', 'rec.many': '{n} suggestions', 'rec.for_base': 'for {base} ({source})', 'rec.given': 'given',
    'rec.nothing': 'Nothing fits: try other words or another base model.', 'rec.add_to': 'Add to {tab}', 'rec.copy': 'Copy',
    'rec.dismiss': 'Dismiss', 'rec.dismiss_hint': 'not now', 'rec.down_hint': 'bad suggestion: rank it lower from now on',
    'rec.feedback_failed': 'Feedback not saved: {why}', 'rec.similar': 'Similar LoRAs', 'rec.none_found': 'none found',
  };

  const zh = {
    'cv.tab': 'Civitai', 'cv.newer_title': 'Civitai 上有更新的版本：{version}', 'cv.update_badge': '更新',
    'cv.ref_ph': 'https://civitai.com/models/123?modelVersionId=456、456 或 urn:air:…', 'cv.ref_label': 'Civitai 引用',
    'cv.folder_ph': '文件夹（可选）：位于第一个根目录下', 'cv.folder_label': '下载文件夹',
    'cv.download_title': '从 Civitai 下载', 'cv.ref_field': '模型或下载链接、版本 ID 或 AIR',
    'cv.download': '下载', 'cv.newer_versions': 'Civitai 上的新版本', 'cv.check_now': '立即检查',
    'cv.downloads': '下载', 'cv.queued': '已加入队列：{ref}', 'cv.queued_toast': '下载已加入队列（Civitai 面板）',
    'cv.need_ref': '请粘贴 Civitai 链接、版本 ID 或 AIR', 'cv.downloads_unavailable': '下载不可用：{why}',
    'cv.no_downloads': '还没有下载。', 'cv.pause': '暂停', 'cv.resume': '继续',
    'cv.state_queued': '排队中', 'cv.state_running': '下载中', 'cv.state_paused': '已暂停', 'cv.state_failed': '失败',
    'cv.state_done': '完成', 'cv.state_cancelled': '已取消', 'cv.of': '{done} / {size}',
    'cv.failed_pause': '未暂停：{why}', 'cv.failed_resume': '未继续：{why}', 'cv.failed_cancel': '未取消：{why}',
    'cv.updates_unavailable': '更新信息不可用：{why}', 'cv.checking': '正在检查…', 'cv.last_checked': '上次检查于 {when}',
    'cv.not_checked_yet': '尚未检查', 'cv.next_check': '；下次 {when}',
    'cv.no_updates': '没有 LoRA 在 Civitai 上有新版本（以其附属文件标明的版本为准）。',
    'cv.n_newer': '（{n} 个更新版本）', 'cv.not_checked': '未检查：{why}', 'cv.beside': '并存下载',
    'cv.beside_hint': '保留此版本；把你在它上面的数据复制到新版本', 'cv.replace': '替换',
    'cv.replace_hint': '此版本移到回收站，你的数据转移到新版本', 'cv.this_one': '（当前版本）',
    'cv.newer': '更新', 'cv.on_civitai': 'Civitai 上：{name}',

    'cf.level': '等级 {n}', 'cf.rated': '分级 {level}：点击显示', 'cf.running': '已有 Civitai 获取在进行',
    'cf.not_fetched': '未获取：{why}', 'cf.fetching': '正在从 Civitai 获取{what}…', 'cf.line': 'Civitai：{text}',
    'cf.progress': 'Civitai：{done} · 找到 {found} 个', 'cf.failed': 'Civitai 获取失败：{why}',
    'cf.done': 'Civitai：找到 {found} 个，{missing} 个不在 Civitai 上', 'cf.n_failed': '，{n} 个失败',
    'cf.not_asked': '尚未查询。', 'cf.checked': '（查询于 {when}）', 'cf.not_on': '不在 Civitai 上',
    'cf.model': '模型', 'cf.version': '版本', 'cf.creator': '作者', 'cf.published': '发布时间', 'cf.updated': '更新时间',
    'cf.levels': '（等级 {n}）', 'cf.matched_by': '匹配方式', 'cf.trained_words': '训练词（Civitai）', 'cf.copy': '复制',
    'cf.tags': '标签：{tags}', 'cf.download_link': 'Civitai 下载链接', 'cf.blur_label': '模糊高于此分级的预览图',
    'cf.never_blur': '从不模糊', 'cf.metadata': '来自 Civitai 的元数据', 'cf.fetch_missing': '获取全部缺失项',
    'cf.what_missing': '所有缺少记录的 LoRA', 'cf.refresh_all': '全部刷新', 'cf.what_again': '所有 LoRA',
    'cf.blur_field': '模糊分级高于此项的预览图', 'cf.library': '找到 {found} 个 · {missing} 个不在 Civitai 上 · {lacking} 个尚未查询',
    'cf.fetching_now': '正在获取…', 'cf.fetch': '从 Civitai 获取', 'cf.what_n': ' {n} 个 LoRA',
    'cf.fetch_hint': '按哈希在 Civitai 上查询此文件', 'cf.what_one': '此 LoRA',

    'rec.tab': '推荐', 'rec.prompt_ph': '描述想要的图像，或粘贴提示词（其中的 <lora:…> 标签不参与推荐）',
    'rec.prompt_label': '用于推荐的提示词', 'rec.base_label': '目标基础模型',
    'rec.base_auto': '基础模型：当前加载的主模型（或提示词中的 LoRA）', 'rec.suggest': '推荐', 'rec.from': '来自 {tab}',
    'rec.from_hint': '使用 {tab} 的提示词', 'rec.semantic': '语义排序', 'rec.lexical': '词汇排序',
    'rec.mode_semantic': '语义', 'rec.mode_lexical': '词汇',
    'rec.fetching_model': '正在下载模型 {mb} MB', 'rec.embedding': '正在计算向量 {done}/{total}',
    'rec.status_unavailable': '状态不可用：{why}', 'rec.need_prompt': '请先输入提示词', 'rec.thinking': '正在思考…',
    'rec.one': '{n} 条推荐', 'rec.many': '{n} 条推荐', 'rec.for_base': '适用于 {base}（{source}）', 'rec.given': '指定',
    'rec.nothing': '没有合适的：换个说法或换个基础模型试试。', 'rec.add_to': '添加到 {tab}', 'rec.copy': '复制',
    'rec.dismiss': '忽略', 'rec.dismiss_hint': '暂时不要', 'rec.down_hint': '推荐得不好：今后降低它的排名',
    'rec.feedback_failed': '反馈未保存：{why}', 'rec.similar': '相似的 LoRA', 'rec.none_found': '没有找到',
  };

  (LM.i18nParts = LM.i18nParts || []).push({ name: 'civitai', en, 'zh-CN': zh });
})();
