"""Standards and exchange: SDTM/ADaM (XPT v5 + define.xml 2.1), REDCap and CDISC ODM readers and writers."""
