// Package budget answers the retry question every downstream project
// guessed at: for a namespace with L links and R changes per second, how
// likely is it that N attempts of a dump in a row are all interrupted, and
// which N reaches 99.9% or 99.99% success? It measures each cell of a grid
// of link counts and churn rates with nltrace's own dumper (or the user's
// client), gives every probability with the confidence interval of the
// dumps it rests on, and fits a simple model beside the measurement to say
// where the two disagree.
package budget
