import streamlit as st

st.title("Patient")
