SELECT email,
       employees
FORM leads
