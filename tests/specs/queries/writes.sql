-- the leads
DELETE FROM leads
