// Package answer is the query path that the four steerdns plugins share: matching a query
// name against zones, looking a name up in a table whatever its case, finding the RRset an
// answer is about at the end of its CNAME chain, and one writer per query that lets every
// plugin change the response while the message is copied at most once.
//
// Everything here runs on every query, so nothing allocates unless a plugin changes the
// response, and then one allocation covers the whole steerdns section of the chain.
package answer
