"""callcore.media"""
