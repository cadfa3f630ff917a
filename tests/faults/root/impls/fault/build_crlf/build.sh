#!/bin/sh
echo built
