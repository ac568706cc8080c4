"""An import's report as text: the counts, then every LoRA that changes or conflicts, field by field."""

from __future__ import annotations

from typing import Any


def _v(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(x) for x in value) + "]"
    if isinstance(value, str):
        one = " ".join(value.split())
        return repr(one if len(one) <= 60 else one[:57] + "...")
    return "—" if value is None else str(value)


def report_text(r: dict[str, Any]) -> str:
    c = r["counts"]
    lines = [f"import from {r['source']} ({'dry run: nothing written' if r['dry_run'] else 'written'}; "
             f"on conflict: {r['on_conflict']})",
             f"LoRAs: added {c['added']}, updated {c['updated']}, conflicting {c['conflicting']}, "
             f"unchanged {c['unchanged']}, unmatched {c['unmatched']}"]
    for item in r["loras"]:
        status = item["status"]
        if status == "unchanged":
            continue
        where = f"{item['local']} ← {item['lora']}" if item.get("local") else item["lora"]
        lines.append(f"  {status:<11} {where}" + (f" [matched by {item['match']}]" if item.get("match") else ""))
        for field, ch in (item.get("changes") or {}).items():
            lines.append(f"      {field}: {_v(ch['from'])} -> {_v(ch['to'])}")
        for field, cf in (item.get("conflicts") or {}).items():
            lines.append(f"      conflict {field}: ours {_v(cf['ours'])}, theirs {_v(cf['theirs'])}; kept {cf['kept']}")
    if r["collections"]:
        lines.append("collections:")
        for col in r["collections"]:
            extra = f", {col['unmatched']} LoRA(s) unmatched" if col["unmatched"] else ""
            lines.append(f"  {col['status']:<11} {col['name']!r} ({col['members']} LoRA(s){extra})")
    if r.get("feedback"):
        how = "to add or raise" if r["dry_run"] else "added or raised"
        lines.append(f"recommendation feedback: {r['feedback']} counter set(s) {how}")
    if r["usage"] is not None:
        u = r["usage"]
        lines.append(
            f"usage: {u['events']} generation(s) in the archive, {u['added']} {'to add' if r['dry_run'] else 'added'}, "
            f"{u['present']} already recorded, {u['loras_unmatched']} LoRA reference(s) unmatched"
        )
    if r.get("recipes") is not None:
        x = r["recipes"]
        added = "to add" if r["dry_run"] else "added"
        lines.append(f"recipes: {x['in_archive']} in the archive, {x['added']} {added}, "
                     f"{x['present']} already here, {x['updated']} {'to update' if r['dry_run'] else 'updated'}, "
                     f"{x['conflicting']} conflicting (ours kept); {x['covers']} cover(s); their LoRAs: "
                     f"{x['loras_by_hash']} found by hash, {x['loras_missing']} not in this library")
        lines += [f"  {i['status']:<11} {i['title']!r}" + (f" (recipe {i['id']})" if i["id"] else "")
                  for i in x["items"]]
    if r["previews"] is not None:
        p = r["previews"]
        lines.append(f"previews: {p['added']} {'to place' if r['dry_run'] else 'placed'}, {p['present']} already there "
                     f"(never replaced), {p['unmatched']} for LoRAs not found")
    if r.get("files"):
        f = r["files"]
        lines.append(f"files read: {f['read']}, unreadable {f['unreadable']}, other dialect {f['other_dialect']}")
    if r["settings"] and r["settings"]["differences"]:
        lines.append("settings (" + r["settings"]["note"] + "):")
        lines += [
            f"  {k}: theirs {_v(d['theirs'])}, ours {_v(d['ours'])}" for k, d in r["settings"]["differences"].items()
        ]
    lines += [f"problem: {p['path']}: {p['problem']}" for p in r["problems"]]
    if r["backup"]:
        lines.append(f"backup taken first: {r['backup']}")
    if not r["dry_run"] and r["written"] is None:
        lines.append("nothing written: the library already holds all of it")
    return "\n".join(lines)
