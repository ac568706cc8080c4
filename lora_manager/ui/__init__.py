"""The tab: a Gradio Blocks shell whose library view is drawn by our own script.

The views (grid, table, detail, bulk actions, panels) live in
`javascript/lora_manager_tab.js` and talk to the REST API: a 10k-card library
scrolls and filters in the browser without a Gradio round trip per change.
Gradio is imported only inside the functions that build the Blocks.
"""
