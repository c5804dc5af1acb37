"""callcore.web"""
