"""callcore.store"""
