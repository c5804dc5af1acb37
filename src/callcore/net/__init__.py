"""callcore.net"""
