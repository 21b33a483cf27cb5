SELECT email FROM leads;
DROP TABLE leads;
