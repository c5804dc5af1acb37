"""callcore.center"""
