"""callcore.switch"""
