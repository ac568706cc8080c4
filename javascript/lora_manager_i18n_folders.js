/* LoRA Manager: the words of the folder tree, the filters and presets, duplicates, organize and setting a preview,
 * part of the interface text table (lora_manager_i18n.js explains the table, its keys and how a file adds its words). */
(() => {
  'use strict';

  const LM = (window.LoraManager = window.LoraManager || {});

  const en = {
    'sort.name_desc': 'Name Z–A', 'sort.added_asc': 'Oldest added', 'sort.modified_asc': 'Oldest file', 'sort.uses': 'Most used',
    'sort.last_used': 'Recently used', 'sort.rating': 'Best rated',

    'dupes.tab': 'Duplicates', 'dupes.title': 'Duplicates (same full hash)', 'dupes.refresh': 'Refresh',
    'dupes.help': '"Keep this one" moves the other copies to the trash (they can be restored) and carries their tags, favourite, rating and notes over to the one kept.',
    'dupes.loading': 'looking…', 'dupes.failed': 'Duplicates not loaded: {why}', 'dupes.summary': '{groups} groups, {files} files',
    'dupes.none': 'No duplicates: every file has its own content.', 'dupes.open': 'open in the library', 'dupes.keep': 'Keep this one',
    'dupes.more': 'Show more ({n})', 'dupes.confirm': 'Keep this file and move the other copies to the trash?', 'dupes.kept': 'Kept',
    'dupes.trashed': 'To the trash', 'dupes.done': 'Kept one: {n} moved to the trash', 'dupes.not_done': 'Not done: {why}',

    'filters.favorites_first': 'favorites first', 'filters.tag': 'tag', 'filters.tag_input': 'filter tag', 'filters.untagged': 'untagged',
    'filters.network_type': 'network type', 'filters.any_type': 'Any type', 'filters.triggers': 'trigger words',
    'filters.any_triggers': 'Trigger words: any', 'filters.has_triggers': 'With trigger words', 'filters.lacks_triggers': 'Without trigger words',
    'filters.nsfw': 'NSFW', 'filters.nsfw_any': 'NSFW: any', 'filters.nsfw_only': 'NSFW only', 'filters.nsfw_hide': 'Hide NSFW',
    'filters.nsfw_level': 'NSFW level', 'filters.level_any': 'NSFW level: any', 'filters.level_pg': 'Up to PG',
    'filters.level_pg13': 'Up to PG-13', 'filters.level_r': 'Up to R', 'filters.level_x': 'Up to X',
    'filters.presets': 'filter presets', 'filters.preset_name': 'preset name', 'filters.include': 'Include',
    'filters.include_title': 'only LoRAs with this tag (Enter)', 'filters.exclude': 'Exclude',
    'filters.exclude_title': 'no LoRAs with this tag (Shift+Enter)', 'filters.untagged_only': 'Untagged only',
    'filters.save_preset': 'Save preset', 'filters.delete_preset': 'Delete preset', 'filters.clear': 'Clear filters',
    'filters.button': 'Filters', 'filters.button_n': 'Filters ({n})', 'filters.flip_out': 'included: click to exclude',
    'filters.flip_in': 'excluded: click to include', 'filters.remove': 'remove {tag}', 'filters.type_tag': 'Type a tag first',
    'filters.presets_pick': 'Presets…', 'filters.presets_none': 'No presets', 'filters.name_preset': 'Name the preset first',
    'filters.not_saved': 'Not saved: {why}', 'filters.preset_saved': 'Preset saved: {name}', 'filters.preset_gone': 'That preset is gone',
    'filters.pick_preset': 'Pick a preset first', 'filters.preset_deleted': 'Preset deleted: {name}',

    'folders.breadcrumbs': 'folder', 'folders.name': 'folder name', 'folders.create': 'Create',
    'folders.create_title': 'a new folder inside the one selected', 'folders.rename': 'Rename',
    'folders.rename_title': 'rename the selected folder', 'folders.title': 'Folders', 'folders.all': 'All LoRAs',
    'folders.new_title': 'new folder, or rename the selected one', 'folders.hide': 'hide the folder tree',
    'folders.show': 'show the folder tree', 'folders.unavailable': 'The folder tree needs a newer server.',
    'folders.failed': 'Folders not loaded: {why}', 'folders.here': '{n} here',
    'folders.bad_name': 'Type a folder name (no slashes, not . or ..)', 'folders.no_root': 'No LoRA folder to create it in',
    'folders.created': 'Folder created: {path}', 'folders.not_created': 'Not created: {why}',
    'folders.pick_first': 'Select a folder in the tree first', 'folders.renamed': 'Renamed: {old} → {name} ({n} LoRAs moved)',
    'folders.not_renamed': 'Not renamed: {why}', 'folders.moved_to': '{n} moved to {where}', 'folders.not_moved': 'Not moved: {why}',

    'organize.tab': 'Organize', 'organize.template': 'folder template', 'organize.scope': 'which LoRAs', 'organize.preview': 'Preview moves',
    'organize.apply': 'Apply', 'organize.title': 'Organize LoRAs into folders',
    'organize.template_label': 'Folder template, below each LoRA\'s root', 'organize.placeholders': 'Placeholders',
    'organize.from': 'From', 'organize.to': 'To', 'organize.all': 'Every LoRA', 'organize.selected': 'The selected LoRAs',
    'organize.need_template': 'Type a template first, e.g. {base}/{type}', 'organize.planning': 'Working out the moves…',
    'organize.no_plan': 'No plan: {why}', 'organize.summary': '{n} to move, {staying} staying where they are',
    'organize.listed': '(the first {n} listed)', 'organize.confirm': 'Move these LoRAs now?', 'organize.moving': 'Moving…',
    'organize.moved': '{n} moved', 'organize.not_moved': '{n} not moved', 'organize.failed': 'Not moved: {why}',

    'preview.not_set': 'Preview not set: {why}', 'preview.replace': 'This LoRA has a preview already. Replace it?',
    'preview.set': 'Preview set', 'preview.bad_type': 'A PNG, JPEG or WebP image, please',
    'preview.too_big': 'That image is too large (20 MB at most)', 'preview.looking': 'looking…', 'preview.no_jobs': 'No jobs: {why}',
    'preview.no_images': 'No finished job with images yet', 'preview.use': 'use as preview: {what}', 'preview.file': 'preview image file',
    'preview.paste_here': 'Click here and paste an image (Ctrl+V)', 'preview.no_image': 'No image on the clipboard',
    'preview.upload': 'Upload an image', 'preview.from_job': 'Pick from a finished job', 'preview.replace_btn': 'Replace preview',
    'preview.set_btn': 'Set preview',
  };

  const zh = {
    'sort.name_desc': '名称 Z–A', 'sort.added_asc': '最早添加', 'sort.modified_asc': '最旧文件', 'sort.uses': '最常使用',
    'sort.last_used': '最近使用', 'sort.rating': '评分最高',

    'dupes.tab': '重复项', 'dupes.title': '重复项（完整哈希相同）', 'dupes.refresh': '刷新',
    'dupes.help': '“保留这个”会把其他副本移到回收站（可恢复），并把它们的标签、收藏、评分和备注合并到保留的那个上。',
    'dupes.loading': '正在查找…', 'dupes.failed': '重复项未加载：{why}', 'dupes.summary': '{groups} 组，{files} 个文件',
    'dupes.none': '没有重复项：每个文件的内容都不同。', 'dupes.open': '在模型库中打开', 'dupes.keep': '保留这个',
    'dupes.more': '显示更多（{n}）', 'dupes.confirm': '保留此文件，并把其他副本移到回收站？', 'dupes.kept': '保留',
    'dupes.trashed': '移到回收站', 'dupes.done': '已保留一个：{n} 个移到回收站', 'dupes.not_done': '未完成：{why}',

    'filters.favorites_first': '收藏优先', 'filters.tag': '标签', 'filters.tag_input': '筛选标签', 'filters.untagged': '无标签',
    'filters.network_type': '网络类型', 'filters.any_type': '任意类型', 'filters.triggers': '触发词',
    'filters.any_triggers': '触发词：不限', 'filters.has_triggers': '有触发词', 'filters.lacks_triggers': '无触发词',
    'filters.nsfw': 'NSFW', 'filters.nsfw_any': 'NSFW：不限', 'filters.nsfw_only': '仅 NSFW', 'filters.nsfw_hide': '隐藏 NSFW',
    'filters.nsfw_level': 'NSFW 等级', 'filters.level_any': 'NSFW 等级：不限', 'filters.level_pg': '最高 PG',
    'filters.level_pg13': '最高 PG-13', 'filters.level_r': '最高 R', 'filters.level_x': '最高 X',
    'filters.presets': '筛选预设', 'filters.preset_name': '预设名称', 'filters.include': '包含',
    'filters.include_title': '只显示带此标签的 LoRA（Enter）', 'filters.exclude': '排除',
    'filters.exclude_title': '不显示带此标签的 LoRA（Shift+Enter）', 'filters.untagged_only': '仅无标签',
    'filters.save_preset': '保存预设', 'filters.delete_preset': '删除预设', 'filters.clear': '清除筛选',
    'filters.button': '筛选', 'filters.button_n': '筛选（{n}）', 'filters.flip_out': '已包含：点击改为排除',
    'filters.flip_in': '已排除：点击改为包含', 'filters.remove': '移除 {tag}', 'filters.type_tag': '请先输入标签',
    'filters.presets_pick': '预设…', 'filters.presets_none': '没有预设', 'filters.name_preset': '请先为预设命名',
    'filters.not_saved': '未保存：{why}', 'filters.preset_saved': '预设已保存：{name}', 'filters.preset_gone': '该预设已不存在',
    'filters.pick_preset': '请先选择预设', 'filters.preset_deleted': '预设已删除：{name}',

    'folders.breadcrumbs': '文件夹', 'folders.name': '文件夹名称', 'folders.create': '新建',
    'folders.create_title': '在所选文件夹内新建文件夹', 'folders.rename': '重命名',
    'folders.rename_title': '重命名所选文件夹', 'folders.title': '文件夹', 'folders.all': '全部 LoRA',
    'folders.new_title': '新文件夹，或所选文件夹的新名称', 'folders.hide': '隐藏文件夹树',
    'folders.show': '显示文件夹树', 'folders.unavailable': '文件夹树需要更新版本的服务器。',
    'folders.failed': '文件夹未加载：{why}', 'folders.here': '此处 {n} 个',
    'folders.bad_name': '请输入文件夹名称（不含斜杠，不能是 . 或 ..）', 'folders.no_root': '没有可在其中新建的 LoRA 文件夹',
    'folders.created': '文件夹已创建：{path}', 'folders.not_created': '未创建：{why}',
    'folders.pick_first': '请先在文件夹树中选择一个文件夹', 'folders.renamed': '已重命名：{old} → {name}（移动了 {n} 个 LoRA）',
    'folders.not_renamed': '未重命名：{why}', 'folders.moved_to': '已将 {n} 个移动到 {where}', 'folders.not_moved': '未移动：{why}',

    'organize.tab': '整理', 'organize.template': '文件夹模板', 'organize.scope': '哪些 LoRA', 'organize.preview': '预览移动',
    'organize.apply': '执行', 'organize.title': '把 LoRA 整理到文件夹中',
    'organize.template_label': '文件夹模板（位于每个 LoRA 的根目录下）', 'organize.placeholders': '占位符',
    'organize.from': '从', 'organize.to': '到', 'organize.all': '全部 LoRA', 'organize.selected': '所选 LoRA',
    'organize.need_template': '请先输入模板，例如 {base}/{type}', 'organize.planning': '正在计算移动方案…',
    'organize.no_plan': '没有方案：{why}', 'organize.summary': '{n} 个待移动，{staying} 个保持原位',
    'organize.listed': '（列出前 {n} 个）', 'organize.confirm': '现在移动这些 LoRA？', 'organize.moving': '正在移动…',
    'organize.moved': '已移动 {n} 个', 'organize.not_moved': '{n} 个未移动', 'organize.failed': '未移动：{why}',

    'preview.not_set': '预览图未设置：{why}', 'preview.replace': '此 LoRA 已有预览图。要替换吗？',
    'preview.set': '预览图已设置', 'preview.bad_type': '请使用 PNG、JPEG 或 WebP 图像',
    'preview.too_big': '图像太大（最多 20 MB）', 'preview.looking': '正在查找…', 'preview.no_jobs': '没有任务：{why}',
    'preview.no_images': '还没有带图像的已完成任务', 'preview.use': '用作预览图：{what}', 'preview.file': '预览图文件',
    'preview.paste_here': '点击此处并粘贴图像（Ctrl+V）', 'preview.no_image': '剪贴板中没有图像',
    'preview.upload': '上传图像', 'preview.from_job': '从已完成的任务中选择', 'preview.replace_btn': '替换预览图',
    'preview.set_btn': '设置预览图',
  };

  (LM.i18nParts = LM.i18nParts || []).push({ name: 'folders', en, 'zh-CN': zh });
})();
