"""`make report`: a weekly-review summary from the module's saved Logs Insights queries."""
